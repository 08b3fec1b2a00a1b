import { escapeForTerminal } from './escape.js';

/** Plain-text tables for people; `--json` output is for scripts. Cells are escaped for the terminal. */
export function table(headers: string[], rawRows: string[][]): string {
  const rows = rawRows.map((r) => r.map((cell) => escapeForTerminal(String(cell))));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}
