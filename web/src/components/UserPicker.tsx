/**
 * Picks one user of the tenant by typing part of their name or email (WAI-ARIA combobox with a
 * listbox popup). The server searches (GET /v1/users?search=), so a tenant of any size works,
 * where a <select> holding every user stopped at the first 1,000. Arrow keys move through the
 * options, Enter picks, Escape closes (and puts back the chosen user's name), and leaving the
 * field keeps the user chosen before.
 */
import { useEffect, useId, useState } from 'react';
import { api, isServiceAccount, type User } from '../api';
import { fullName } from '../format';
import { NEWEST_FIRST } from './usePagedList';

export interface PickedUser {
  uid: string;
  label: string;
}

/** At most this many users are offered at once; typing more narrows them. */
const RESULTS = 20;
/** Typing pauses this long before a search is sent: one request per pause, not per key. */
const DEBOUNCE_MS = 200;

/** A service account is marked, so that a tenant admin giving keys to an automation picks the right user. */
export const userLabel = (u: User): string => `${fullName(u.spec)} (${u.spec.emailId})${isServiceAccount(u) ? ' · Service account' : ''}`;

interface Found {
  query: string;
  users: User[];
  count: number;
  error: string;
}

/**
 * The users matching `query` while `enabled`. A changed query aborts the search in flight, and
 * an answer is kept with the query it answers: the options never belong to older text.
 */
function useUserSearch(query: string, enabled: boolean): Found | null {
  const [found, setFound] = useState<Found | null>(null);
  useEffect(() => {
    if (!enabled) return;
    const controller = new AbortController();
    const timer = setTimeout(
      () => {
        const params = new URLSearchParams({ limit: String(RESULTS) });
        if (query) params.set('search', query);
        api<{ items: User[]; listmeta?: { count: number } }>('GET', `/v1/users?${NEWEST_FIRST}&${params}`, undefined, { signal: controller.signal })
          .then((res) => {
            if (!controller.signal.aborted) setFound({ query, users: res.items, count: res.listmeta?.count ?? res.items.length, error: '' });
          })
          .catch((err: Error) => {
            if (!controller.signal.aborted) setFound({ query, users: [], count: 0, error: err.message });
          });
      },
      query ? DEBOUNCE_MS : 0,
    );
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [query, enabled]);
  return found;
}

export function UserPicker(props: {
  /** The visible label. */
  label: string;
  /** The chosen user; null means the `emptyLabel` choice. */
  value: PickedUser | null;
  onChange: (user: PickedUser | null) => void;
  /** When set, a first option that chooses nobody in particular (for example "All users"). */
  emptyLabel?: string;
  inline?: boolean;
}) {
  const { value, onChange, emptyLabel } = props;
  const id = useId();
  const [text, setText] = useState(value?.label ?? '');
  /** The person has typed since the last choice: the text is a search, not the chosen name. */
  const [editing, setEditing] = useState(false);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);

  // A choice made from outside (or a first value) shows in the field.
  useEffect(() => {
    if (!editing) setText(value?.label ?? '');
  }, [value, editing]);

  const query = editing ? text.trim() : '';
  const found = useUserSearch(query, open);
  const current = found && found.query === query ? found : null;
  const options: PickedUser[] | null = current && [
    ...(emptyLabel && query === '' ? [{ uid: '', label: emptyLabel }] : []),
    ...current.users.map((u) => ({ uid: u.metadata.uid, label: userLabel(u) })),
  ];

  // New options: the first is highlighted again.
  useEffect(() => setActive(0), [current]);

  const close = () => {
    setOpen(false);
    setEditing(false);
    setText(value?.label ?? '');
  };

  const choose = (option: PickedUser) => {
    setOpen(false);
    setEditing(false);
    setText(option.uid ? option.label : '');
    onChange(option.uid ? option : null);
  };

  const onKeyDown = (e: React.KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      if (!open) {
        setOpen(true);
        setActive(0);
        return;
      }
      const last = (options?.length ?? 1) - 1;
      setActive((a) => Math.max(0, Math.min(last, a + (e.key === 'ArrowDown' ? 1 : -1))));
    } else if (e.key === 'Enter' && open) {
      // Enter picks the highlighted user; it never submits the form around the field.
      e.preventDefault();
      const option = options?.[active];
      if (option) choose(option);
    } else if (e.key === 'Escape' && open) {
      // Closes the list only, not a dialog the field is in.
      e.preventDefault();
      e.stopPropagation();
      close();
    }
  };

  const status = (() => {
    if (!open) return '';
    if (!current) return 'Searching…';
    if (current.error) return `Could not search the users: ${current.error}`;
    if (current.count === 0) return query ? `No user matches "${query}".` : 'No users.';
    if (current.count > current.users.length) return `Showing ${current.users.length} of ${current.count} users: type more of a name or email to narrow them.`;
    return `${current.count} ${current.count === 1 ? 'user' : 'users'}.`;
  })();

  const listId = `${id}-list`;
  const optionId = (i: number) => `${id}-option-${i}`;
  return (
    <div className={`picker${props.inline ? ' inline' : ''}`}>
      <label htmlFor={`${id}-input`}>{props.label}</label>
      <div className="picker-field">
        <input
          id={`${id}-input`}
          type="text"
          role="combobox"
          autoComplete="off"
          spellCheck={false}
          placeholder={emptyLabel ?? 'Type a name or email'}
          aria-autocomplete="list"
          aria-expanded={open}
          aria-controls={listId}
          aria-activedescendant={open && options?.[active] ? optionId(active) : undefined}
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            setEditing(true);
            setOpen(true);
            setActive(0);
          }}
          onClick={() => {
            if (!open) {
              setOpen(true);
              setActive(0);
            }
          }}
          onKeyDown={onKeyDown}
          onBlur={() => {
            // Emptied and left: the empty choice, where there is one; otherwise what was chosen stays.
            if (editing && text.trim() === '' && emptyLabel) choose({ uid: '', label: emptyLabel });
            else close();
          }}
        />
        {/* Always there, so that aria-controls names an element; hidden while closed. */}
        <div className="picker-popup" hidden={!open}>
          <ul id={listId} role="listbox" aria-label={props.label}>
            {options?.map((option, i) => (
              <li
                key={option.uid || 'none'}
                id={optionId(i)}
                role="option"
                aria-selected={i === active}
                className={option.uid === (value?.uid ?? '') ? 'chosen' : undefined}
                // Keeps the focus in the field, so that its blur does not close the list first.
                onMouseDown={(e) => e.preventDefault()}
                onMouseEnter={() => setActive(i)}
                onClick={() => choose(option)}
              >
                {option.label}
              </li>
            ))}
          </ul>
          {/* How many match, read out as it changes. */}
          <p role="status" className="picker-note">
            {status}
          </p>
        </div>
      </div>
    </div>
  );
}
