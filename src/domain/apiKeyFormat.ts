/**
 * The API key format, after GitHub's 2021 token format:
 *
 *   kw_ + 32 random base62 characters (190 bits) + 6 base62 characters of CRC32
 *
 * The prefix makes a leaked key recognisable to secret scanners; the checksum lets us turn
 * away typos and garbage without hashing or touching the database. Keys are stored only as
 * an HMAC-SHA-256 under the server secret (`hashApiKey`) plus a short display prefix.
 */
import { createHmac, randomBytes as nodeRandomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { encodeBase62, randomBase62 } from './base62.js';

export const KEY_PREFIX = 'kw_';
const RANDOM_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
export const KEY_LENGTH = KEY_PREFIX.length + RANDOM_LENGTH + CHECKSUM_LENGTH;
/** How many leading characters are kept, in clear, to help people tell their keys apart. */
const DISPLAY_LENGTH = KEY_PREFIX.length + 4;
const KEY_RE = new RegExp(`^${KEY_PREFIX}[0-9A-Za-z]{${RANDOM_LENGTH + CHECKSUM_LENGTH}}$`);

function checksum(body: string): string {
  return encodeBase62(crc32(body), CHECKSUM_LENGTH);
}

export interface NewKey {
  /** The key itself: shown once, in the create response, and never stored. */
  key: string;
  /** HMAC-SHA-256 of the key under the server secret, hex. */
  hash: string;
  /** The first few characters, for display. */
  start: string;
}

/** `body` (the prefix and random part) completed with its checksum. */
export function withChecksum(body: string): string {
  return body + checksum(body);
}

export function newApiKey(secret: string, randomBytes: (n: number) => Uint8Array = nodeRandomBytes): NewKey {
  const key = withChecksum(KEY_PREFIX + randomBase62(RANDOM_LENGTH, randomBytes));
  return { key, hash: hashApiKey(secret, key), start: key.slice(0, DISPLAY_LENGTH) };
}

/** True when `candidate` has the key's shape and its checksum matches. No secret involved. */
export function isWellFormedApiKey(candidate: string): boolean {
  if (candidate.length !== KEY_LENGTH || !KEY_RE.test(candidate)) return false;
  const body = candidate.slice(0, -CHECKSUM_LENGTH);
  return checksum(body) === candidate.slice(-CHECKSUM_LENGTH);
}

export function hashApiKey(secret: string, key: string): string {
  return createHmac('sha256', secret).update(key).digest('hex');
}
