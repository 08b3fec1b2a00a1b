/**
 * Keyset paging in Palette's shape: `limit` and an opaque `continue` token, the position of
 * the last row returned as (sort position, uid): `created_at` for keys and users, the sequence
 * number for the audit log. Stable while rows are added or removed.
 * Palette's `offset` (a start index) is offered beside it for keys and users: the same order,
 * entered by counting rows instead of by position.
 * Keys and users can be listed oldest first (the default) or newest first; a token remembers
 * which, since a position read in one order means other rows in the other.
 */
import { badRequest } from '../domain/errors.js';

/** A listing's direction over its sort position: oldest first (`asc`) or newest first (`desc`). */
export type Order = 'asc' | 'desc';

export interface Position {
  position: number;
  uid: string;
}

export interface PageRequest {
  limit: number;
  after?: Position;
  /** Rows to skip first (Palette's `offset`); only read when `after` is absent. */
  offset?: number;
  /** Absent: `asc`. The audit log, newest first only, leaves it out. */
  order?: Order;
}

export interface Page<T> {
  items: T[];
  /** Empty string at the end of the result set, as Palette's listmeta says. */
  continue: string;
}

/** `[position, uid]` for an oldest-first listing, as tokens always were; `[position, uid, -1]` newest first. */
export function encodeContinue(position: number, uid: string, order: Order = 'asc'): string {
  return Buffer.from(JSON.stringify(order === 'desc' ? [position, uid, -1] : [position, uid])).toString('base64url');
}

// What encodeContinue writes: a row's sort position (a time in ms or a sequence number), its uid,
// and -1 for a newest-first listing. Anything else did not come from Keyward, and is refused
// before it reaches SQL (a NUL in the uid, say, which PostgreSQL cannot take in a text parameter).
const UID = /^[0-9a-f]{24}$/;

/** The position in a token; 400 when it is not one, or was made for a listing in the other order. */
export function decodeContinue(token: string | undefined, order: Order = 'asc'): PageRequest['after'] {
  if (!token) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (Array.isArray(value) && (value.length === 2 || (value.length === 3 && value[2] === -1))) {
    const [position, uid] = value as unknown[];
    if (Number.isSafeInteger(position) && (position as number) >= 0 && typeof uid === 'string' && UID.test(uid)) {
      if ((value.length === 3 ? 'desc' : 'asc') !== order) {
        throw badRequest('The continue token comes from a listing in the other order: send the orderBy of the request that gave it, or start again without it.', {
          field: 'continue',
        });
      }
      return { position: position as number, uid };
    }
  }
  throw badRequest('The continue token is not valid; start the listing again without it.', { field: 'continue' });
}

/** Given `limit + 1` rows, returns `limit` of them and the token for the next page. */
export function toPage<T>(rows: T[], limit: number, position: (row: T) => [number, string], order: Order = 'asc'): Page<T> {
  if (rows.length <= limit) return { items: rows, continue: '' };
  const items = rows.slice(0, limit);
  return { items, continue: encodeContinue(...position(items[items.length - 1]), order) };
}

/**
 * The comparison of (sort position, uid) with a position, for rows after it in a listing's
 * order, and for rows up to it.
 */
export const pastIn = (order: Order = 'asc') => (order === 'desc' ? '<' : '>');
export const upToIn = (order: Order = 'asc') => (order === 'desc' ? '>=' : '<=');
