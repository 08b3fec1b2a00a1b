/**
 * Palette's list paging over one ordered source, shared by the key and user listings:
 * `continue` (a keyset position, stable while rows come and go), `offset` (a start index) and
 * `limit`. When both `continue` and `offset` are sent, `continue` wins: Palette's clients send
 * back both from the previous answer, and the token's position holds where an index shifts
 * under concurrent inserts and deletes. `listmeta.offset` in every answer is the next index.
 * Either order (oldest or newest first) pages the same way; the order is part of the query,
 * and a token answers only a query in its own order.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { decodeContinue, type Order, type Page, type PageRequest, type Position } from '../store/paging.js';

/** The page size used while reading a whole listing from the database. */
export const CHUNK_SIZE = 1000;

export interface ListQuery {
  /** Most rows in the answer; `'all'`: every row from the start position. */
  limit: number | 'all';
  continue?: string;
  offset?: number;
  /** Absent: oldest first. */
  order?: Order;
}

export interface Listing<T> {
  items: T[];
  continue: string;
  /** Every row of the listing, not only this page's. */
  count: number;
  /** The index of the row after this page: where an `offset` request for the next page starts. */
  offset: number;
}

/** What a listing reads: pages in a stable order, and counts in that order. */
export interface OrderedSource<T> {
  page(request: PageRequest): Promise<Page<T>>;
  /** Rows in the listing; with `upTo`, rows at or before that position in `order`. */
  count(upTo?: Position, order?: Order): Promise<number>;
}

/** Where a query starts: after a position, or at an index. Throws 400 on a bad token. */
export function startOf(query: Pick<ListQuery, 'continue' | 'offset' | 'order'>): Start {
  const order = query.order ?? 'asc';
  const after = decodeContinue(query.continue, order);
  return after ? { after, order } : { offset: query.offset ?? 0, order };
}

type Start = ({ after: Position; offset?: undefined } | { after?: undefined; offset: number }) & { order: Order };

/** The index of the first row after `start`. */
async function indexOf<T>(source: OrderedSource<T>, start: Start): Promise<number> {
  return start.after ? source.count(start.after, start.order) : start.offset;
}

/**
 * Every row from `start` on, a chunk at a time: one short query per chunk, continuing from
 * the last row read, so no chunk is held longer than its caller takes to use it. Between chunks
 * the event loop gets a turn: on SQLite each read runs synchronously, and a listing of 100,000
 * rows read back to back would hold every other request for its whole length.
 */
export async function* chunks<T>(source: OrderedSource<T>, start: Start, size = CHUNK_SIZE): AsyncGenerator<T[]> {
  let request: PageRequest = { limit: size, ...start };
  for (;;) {
    const page = await source.page(request);
    if (page.items.length > 0) yield page.items;
    if (!page.continue) return;
    await nextTurn();
    request = { limit: size, after: decodeContinue(page.continue, start.order), order: start.order };
  }
}

/** One answer of a listing: a page, or with `limit: 'all'` every row from the start (held in memory). */
export async function list<T>(source: OrderedSource<T>, query: ListQuery): Promise<Listing<T>> {
  const start = startOf(query);
  let items: T[];
  let next = '';
  if (query.limit === 'all') {
    items = [];
    for await (const chunk of chunks(source, start)) items.push(...chunk);
  } else {
    const page = await source.page({ limit: query.limit, ...start });
    items = page.items;
    next = page.continue;
  }
  const [count, first] = await Promise.all([source.count(), indexOf(source, start)]);
  return { items, continue: next, count, offset: first + items.length };
}

export interface RowStream<T> {
  /** The index of the first row, for `listmeta.offset` once the rows are written. */
  firstIndex: number;
  chunks: AsyncGenerator<T[]>;
  /** Every row of the listing (read when the stream did not start at the first row). */
  count(): Promise<number>;
}

/** Every row from the start position, as chunks to be written out one after the other. */
export async function stream<T>(source: OrderedSource<T>, query: Omit<ListQuery, 'limit'>): Promise<RowStream<T>> {
  const start = startOf(query);
  return { firstIndex: await indexOf(source, start), chunks: chunks(source, start), count: () => source.count() };
}
