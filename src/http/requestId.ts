/**
 * Request ids (X-Request-Id, `ref` of an error body, `reqId` of a log line): 32 hex digits, 128
 * random bits as a UUID has, so they are unique across processes and instances and tell a client
 * nothing (a counter would tell how many requests the server answered between two of its own).
 * randomUUID formats 16 bytes into a string on every call; here one call draws the bytes of
 * BATCH ids at once, as one hex string, and each id is a slice of it: a few tens of nanoseconds.
 */
import { randomBytes } from 'node:crypto';

const BATCH = 256;
const HEX_DIGITS = 32;
let pool = '';
let next = BATCH;

export function newRequestId(): string {
  if (next === BATCH) {
    pool = randomBytes((HEX_DIGITS / 2) * BATCH).toString('hex');
    next = 0;
  }
  const start = HEX_DIGITS * next++;
  return pool.slice(start, start + HEX_DIGITS);
}
