/**
 * A console table: it scrolls sideways inside its card (not the page), is named for screen
 * readers, and has one header cell per column. A message row ("Loading…", or what an empty
 * table means) spans every column shown, so its width follows the columns a table has.
 */
import type { ReactNode } from 'react';

export function DataTable(props: {
  /** The id of the heading that names the table; or `label`, a name of its own. */
  labelledBy?: string;
  label?: string;
  /** The column headers, in order; a `false` one is a column this table does not show. */
  columns: (string | false)[];
  /** A last column for each row's actions, named only for screen readers. */
  actions?: boolean;
  /** A row across every column, shown before the rows; nothing when false or empty. */
  message?: string | false;
  /** The rows (`<tr>`s). */
  children: ReactNode;
}) {
  const columns = props.columns.filter((c): c is string => c !== false);
  return (
    <div className="table-wrap">
      <table aria-labelledby={props.labelledBy} aria-label={props.label}>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c} scope="col">
                {c}
              </th>
            ))}
            {props.actions && (
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {props.message && (
            <tr>
              <td colSpan={columns.length + (props.actions ? 1 : 0)}>{props.message}</td>
            </tr>
          )}
          {props.children}
        </tbody>
      </table>
    </div>
  );
}
