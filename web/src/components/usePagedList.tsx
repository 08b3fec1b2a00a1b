/**
 * A list the server hands out in pages (Palette's `limit` and `continue`): the first page, more
 * on request, and a re-read after every action that keeps every row already shown. Pages keep
 * the first screen quick for a tenant with thousands of keys or users. Key and user lists ask
 * for NEWEST_FIRST, so a row just made is on the first page.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { api } from '../api';

const PAGE_SIZE = 50;

/** The query parameter that lists keys and users newest first (the audit log always is). */
export const NEWEST_FIRST = 'orderBy=metadata.creationTimestamp=-1';

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
  /**
   * The read in flight. Each read supersedes the one before: that one is aborted and its answer,
   * should it arrive anyway, is dropped, so a table never shows rows of a filter it has left.
   */
  const inFlight = useRef<{ controller: AbortController; kind: 'reload' | 'more' } | null>(null);

  const begin = (kind: 'reload' | 'more') => {
    inFlight.current?.controller.abort();
    const controller = new AbortController();
    inFlight.current = { controller, kind };
    return controller.signal;
  };
  const end = (signal: AbortSignal) => {
    if (inFlight.current?.controller.signal === signal) inFlight.current = null;
  };

  const read = useCallback(
    (limit: number, signal: AbortSignal, after = '') => {
      const query = new URLSearchParams({ limit: String(limit) });
      if (after) query.set('continue', after);
      return api<Page<T>>('GET', `${url}${url.includes('?') ? '&' : '?'}${query}`, undefined, { signal });
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
    const signal = begin('reload');
    try {
      const page = await read(Math.min(shown.current, 1000), signal);
      // Superseded while the answer was read: a newer read will say what is true.
      if (!signal.aborted) accept(page, page.items);
    } catch (err) {
      if (!signal.aborted) setError((err as Error).message);
    } finally {
      end(signal);
    }
  }, [read]);

  // Another list (a new filter) or the first visit: start again from the first page, showing
  // nothing of the list before. Leaving the list, or changing it, drops the read still in flight.
  useEffect(() => {
    shown.current = PAGE_SIZE;
    setItems(null);
    setError('');
    void reload();
    return () => inFlight.current?.controller.abort();
  }, [reload]);

  const showMore = async () => {
    // A re-read after an action is still out: showing more from the rows shown before it would
    // drop what the action changed, so read those rows and the next page from the top instead.
    if (inFlight.current?.kind === 'reload') {
      shown.current += PAGE_SIZE;
      return reload();
    }
    const signal = begin('more');
    try {
      const page = await read(PAGE_SIZE, signal, more.next);
      if (signal.aborted) return;
      const rows = [...(items ?? []), ...page.items];
      shown.current = rows.length;
      accept(page, rows);
    } catch (err) {
      if (!signal.aborted) setError((err as Error).message);
    } finally {
      end(signal);
    }
  };

  return { items, total: more.total, hasMore: more.next !== '', error, reload, showMore };
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
