/**
 * A list the server hands out in pages (Palette's `limit` and `continue`): the first page, more
 * on request, and a re-read after every action that keeps every row already shown. Pages keep
 * the first screen quick for a tenant with thousands of keys or users.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { api } from '../api';

const PAGE_SIZE = 50;

interface Page<T> {
  items: T[];
  listmeta?: { continue: string; count: number };
}

export function usePagedList<T>(url: string) {
  const [items, setItems] = useState<T[] | null>(null);
  const [more, setMore] = useState({ next: '', total: 0 });
  const [error, setError] = useState('');
  /** How many rows are shown; a ref, since showing more must not re-read the rows already there. */
  const shown = useRef(PAGE_SIZE);

  const read = useCallback(
    (limit: number, after = '') => {
      const query = new URLSearchParams({ limit: String(limit) });
      if (after) query.set('continue', after);
      return api<Page<T>>('GET', `${url}${url.includes('?') ? '&' : '?'}${query}`);
    },
    [url],
  );

  const accept = (page: Page<T>, rows: T[]) => {
    setItems(rows);
    setMore({ next: page.listmeta?.continue ?? '', total: page.listmeta?.count ?? rows.length });
    setError('');
  };

  /** Reads the list again from the top, as many rows as are shown (the API gives 1,000 at most). */
  const reload = useCallback(async () => {
    try {
      const page = await read(Math.min(shown.current, 1000));
      accept(page, page.items);
    } catch (err) {
      setError((err as Error).message);
    }
  }, [read]);

  // Another list (a new filter) or the first visit: start again from the first page.
  useEffect(() => {
    shown.current = PAGE_SIZE;
    void reload();
  }, [reload]);

  const showMore = async () => {
    try {
      const page = await read(PAGE_SIZE, more.next);
      const rows = [...(items ?? []), ...page.items];
      shown.current = rows.length;
      accept(page, rows);
    } catch (err) {
      setError((err as Error).message);
    }
  };

  /**
   * After adding a row. Lists run oldest first, so the new row comes last: read through to the
   * end, where that is within one read, so that the person sees what they just made.
   */
  const reloadThroughNewest = () => {
    if (more.next !== '' && more.total < 1000) shown.current = more.total + 1;
    return reload();
  };

  return { items, total: more.total, hasMore: more.next !== '', error, reload, reloadThroughNewest, showMore };
}

/** "Showing 50 of 120 API keys." and the button that reads the next page. */
export function ShowMore(props: { shown: number; total: number; noun: string; onClick: () => void }) {
  return (
    <div className="more">
      <span>
        Showing {props.shown} of {props.total} {props.noun}.
      </span>
      <button type="button" onClick={props.onClick}>
        Show more {props.noun}
      </button>
    </div>
  );
}
