/**
 * What a credential looks like in text: a Keyward key, a session token (a JWT), or a long run of
 * their alphabet that may be most of one. Used to mask them wherever text from a request is
 * written out: the request log (http/logging.ts), and the paths forward-auth reports.
 */

export const REDACTED = '[REDACTED]';

// A Keyward key is kw_ + 38 base62 characters; a shorter run is still most of a key (a
// truncated paste), so any long run after kw_ is masked. A session token is a JWT: base64url
// JSON, so each part starts with eyJ; one dot is enough (a token without its signature).
// Neither prefix can be relied on (a key sent without kw_, or with a stray character after a
// few of its letters; a token's parts split by `..` or `+.+`), so any long run of the secrets'
// alphabet is a candidate too (the capture group), and `secretLike` decides.
// A run is taken whole (from where it starts), so a 24-character uid is one failed match, not 24.
const CREDENTIAL_SHAPE = /kw_[0-9A-Za-z]{16,}|eyJ[\w-]{8,}(?:\.[\w-]*){1,2}|(?<![\w-])([\w-]{25,})/g;
const PREFIXES = /kw_|eyJ/;
const RUN = 25;
const IN_RUN = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-') IN_RUN[c.charCodeAt(0)] = 1;
const inRun = (c: number) => c < 128 && IN_RUN[c] === 1;

/**
 * Whether `text` holds a run of RUN characters of [A-Za-z0-9_-]. Looks at every RUN-th character
 * first, and back from it only when it could end a run: a few tens of nanoseconds on a URL
 * where a regular expression takes hundreds (it tries the run at each of a uid's 24 letters).
 */
export function hasLongRun(text: string): boolean {
  let start = 0;
  while (start + RUN <= text.length) {
    const end = start + RUN - 1;
    if (!inRun(text.charCodeAt(end))) {
      start = end + 1;
      continue;
    }
    let k = end - 1;
    while (k >= start && inRun(text.charCodeAt(k))) k--;
    if (k < start) return true;
    start = k + 1;
  }
  return false;
}
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX = /^[0-9a-f]+$/i;

/**
 * A run of [A-Za-z0-9_-] that may be (most of) a key's secret or a token's payload or signature:
 * 32 characters or more, or 25 with upper case, lower case and digits as random base62 or
 * base64url has (most of a key split in two by a stray character). Uids (24 hex), request ids
 * (UUIDs), hashes (hex) and words (swagger-ui-standalone-preset) are not, and stay readable.
 */
function secretLike(run: string): boolean {
  if (UUID.test(run) || HEX.test(run)) return false;
  return run.length >= 32 || (/[A-Z]/.test(run) && /[a-z]/.test(run) && /[0-9]/.test(run));
}

const mask = (_shape: string, run: string | undefined) => (run === undefined || secretLike(run) ? REDACTED : run);

/** `text` with every key- or token-shaped run replaced by [REDACTED]. */
export function maskCredentials(text: string): string {
  // Most text (every request's "request completed") has nothing CREDENTIAL_SHAPE could match.
  return PREFIXES.test(text) || hasLongRun(text) ? text.replace(CREDENTIAL_SHAPE, mask) : text;
}
