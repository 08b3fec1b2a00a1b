/**
 * Keyset paging in Palette's shape: `limit` and an opaque `continue` token, the position of
 * the last row returned as (sort position, uid): `created_at` for keys and users, the sequence
 * number for the audit log. Stable while rows are added or removed.
 * Palette's `offset` (a start index) is offered beside it for keys and users: the same order,
 * entered by counting rows instead of by position.
 */
import { badRequest } from '../domain/errors.js';

export interface Position {
  position: number;
  uid: string;
}

export interface PageRequest {
  limit: number;
  after?: Position;
  /** Rows to skip first (Palette's `offset`); only read when `after` is absent. */
  offset?: number;
}

export interface Page<T> {
  items: T[];
  /** Empty string at the end of the result set, as Palette's listmeta says. */
  continue: string;
}

export function encodeContinue(position: number, uid: string): string {
  return Buffer.from(JSON.stringify([position, uid])).toString('base64url');
}

// What encodeContinue writes: a row's sort position (a time in ms or a sequence number) and
// its uid. Anything else did not come from Keyward, and is refused before it reaches SQL (a NUL
// in the uid, say, which PostgreSQL cannot take in a text parameter).
const UID = /^[0-9a-f]{24}$/;

export function decodeContinue(token: string | undefined): PageRequest['after'] {
  if (!token) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (Array.isArray(value) && value.length === 2) {
    const [position, uid] = value as unknown[];
    if (Number.isSafeInteger(position) && (position as number) >= 0 && typeof uid === 'string' && UID.test(uid)) {
      return { position: position as number, uid };
    }
  }
  throw badRequest('The continue token is not valid; start the listing again without it.', { field: 'continue' });
}

/** Given `limit + 1` rows, returns `limit` of them and the token for the next page. */
export function toPage<T>(rows: T[], limit: number, position: (row: T) => [number, string]): Page<T> {
  if (rows.length <= limit) return { items: rows, continue: '' };
  const items = rows.slice(0, limit);
  return { items, continue: encodeContinue(...position(items[items.length - 1])) };
}
