/**
 * The readings of a request path that forward-auth's route rules are matched against.
 *
 * This is a security boundary. nginx resolves a path for its own location matching but, with
 * `proxy_pass` and no URI part, forwards the raw URI upstream; application routers then read it
 * their own way: Fastify (find-my-way) and Express take `..` and `.` as names and keep empty
 * segments (`/orgs//admin` is `/orgs/:org/admin` with org "", `/users/` is `/users/:id` with id
 * ""). Matching only the resolved path let `/admin/x/../../public/y` meet `/public`'s rules while
 * Fastify served it from a route `/admin/*`. So the rules are matched against every reading a
 * server could give the path, and a request passes only if every reading passes:
 * - reading A, the normalised path (CONTRACT §6.1): decoded once, empty segments dropped, `.` and
 *   `..` resolved (`..` above the root refuses the whole URI);
 * - reading B, the literal path: decoded once, nothing dropped or resolved (empty segments, a
 *   trailing slash's empty last segment, `.` and `..` stay as segment names, which only `*` and
 *   `**` match). Returned only when it differs from A;
 * - then, where they differ from both, the readings of servers that do one of the two and not
 *   the other: slashes merged but dots kept as names (Fastify with ignoreDuplicateSlashes), dots
 *   resolved but empty segments kept (the WHATWG URL parser), the two in either order, and each
 *   of these with a trailing slash dropped (Fastify's ignoreTrailingSlash, Express). Without
 *   them `/orgs//../admin` (Fastify with ignoreDuplicateSlashes: `/orgs/:org/admin`, org "..")
 *   and `/orgs//admin/` (with ignoreTrailingSlash: org "") would meet neither A's rules nor B's.
 * Encoded dots (`%2e%2e`) are read as raw dots are: A resolves them, B keeps them as names.
 * A server that resolves raw dots but keeps encoded ones as names is not among the readings.
 *
 * Anything whose meaning differs between servers in other ways is refused (undefined) rather
 * than guessed:
 * - backslashes (some servers read them as `/`), NUL and control characters, raw or encoded;
 * - encoded `/` or `\` (`%2F`, `%5C`: one server splits on them, another does not);
 * - `;` raw or encoded (Java servers drop `;params` from a segment, so `/admin;x` is /admin there);
 * - a raw `#` anywhere (no client sends a fragment; Fastify and Go route it and what follows as path);
 * - a `%` not followed by two hex digits, or left after the one decode (`%252e`: double encoding);
 * - bytes that are not valid UTF-8 after decoding, including overlong forms such as `%c0%ae`;
 * - letters whose simple case mapping is an ASCII letter (dotless `ı`, `İ`, long `ſ`, the Kelvin
 *   sign): a case-insensitive server comparing with Unicode case mappings (Java's
 *   equalsIgnoreCase says "admın" equals "admin") serves `/adm%C4%B1n` as /admin, while rules
 *   compare ASCII case only;
 * - raw characters outside printable ASCII (clients percent-encode them; nginx passes them raw);
 * - more than MAX_SEGMENTS segments (bounds the matching work per request);
 * - anything not starting with `/` (absolute URLs included).
 * The query is dropped. Case is kept; the matcher compares ASCII letters case-insensitively.
 */

const SLASH = 0x2f;
const DOT = 0x2e;
const PERCENT = 0x25;
const BACKSLASH = 0x5c;
const SEMICOLON = 0x3b;
const QUESTION = 0x3f;
const HASH = 0x23;
// The only letters whose simple (one-character) case mapping is an ASCII letter: İ->i, ı->I, ſ->S, K->k.
const DOTTED_CAPITAL_I = 0x130;
const DOTLESS_I = 0x131;
const LONG_S = 0x17f;
const KELVIN = 0x212a;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The value of one hex digit, or -1. */
function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** A byte (raw or decoded) that no path may hold: controls, DEL, `/`-lookalikes and `%` and `;`. */
function refusedDecodedByte(b: number): boolean {
  return b < 0x20 || b === 0x7f || b === SLASH || b === BACKSLASH || b === PERCENT || b === SEMICOLON;
}

/**
 * At most this many segments in either reading (the literal one is the longer): a longer path is
 * refused. No real route is that deep, and it bounds the matching work of one request.
 */
export const MAX_PATH_SEGMENTS = 128;

/** The segment lists of one path that the rules must all allow: reading A first, then B and the mixed readings where they differ. */
export type PathReadings = readonly (readonly string[])[];

/**
 * The readings of a request URI's path (see the module comment): `[A]` when the literal path is
 * already normal (`/a/b?x=1` gives `[["a", "b"]]`), `[A, B, ...]` when it is not (`/a/../b/` gives
 * `[["b"], ["a", "..", "b", ""], ["b", ""], ["a", "..", "b"]]`), each reading once, or undefined
 * when the URI is refused. The root `/` has no segments in any reading. Cheap for the common path
 * that is already normal: one scan, one split.
 */
export function requestPathReadings(uri: string): PathReadings | undefined {
  if (typeof uri !== 'string' || uri.charCodeAt(0) !== SLASH) return undefined;
  // Fast path: printable ASCII without `%`, `\`, `;`, `//`, `/.` or a trailing slash is already normal.
  let end = uri.length;
  let simple = true;
  let previous = 0;
  let slashes = 0;
  for (let i = 0; i < uri.length; i++) {
    const c = uri.charCodeAt(i);
    if (c === QUESTION) {
      end = i;
      break;
    }
    if (c <= 0x20 || c >= 0x7f || c === BACKSLASH || c === HASH) return undefined;
    if (c === SLASH) slashes++;
    if (c === PERCENT || c === SEMICOLON || (previous === SLASH && (c === SLASH || c === DOT))) simple = false;
    previous = c;
  }
  // A `#` in the query too: no client sends one, and a router that does not split on `?` first reads it.
  if (end < uri.length && uri.indexOf('#', end) >= 0) return undefined;
  // Each `/` starts one segment of the literal reading (the root's aside).
  if (slashes > MAX_PATH_SEGMENTS) return undefined;
  if (end === 1) return ROOT;
  if (simple && previous !== SLASH) return [uri.slice(1, end).split('/')];
  return slowPath(uri.slice(0, end));
}

/** The root's one reading: no segments. */
const ROOT: PathReadings = Object.freeze([Object.freeze([]) as readonly string[]]);

/**
 * The normalised path of a request URI as one text (`/a/b` for `/a//b/?x=1`): reading A of
 * requestPathReadings, or undefined when the URI is refused. Reading B is not in it: match with
 * requestPathReadings where it matters.
 */
export function normaliseRequestPath(uri: string): string | undefined {
  const readings = requestPathReadings(uri);
  return readings === undefined ? undefined : `/${readings[0].join('/')}`;
}

function slowPath(path: string): PathReadings | undefined {
  // The caller has checked: printable ASCII, no backslash, not the root. Encoded `/` is refused,
  // so splitting the raw path on `/` gives the segments the decoded path would have.
  const literal: string[] = [];
  for (const raw of path.slice(1).split('/')) {
    if (raw.indexOf(';') >= 0) return undefined;
    const segment = raw.indexOf('%') < 0 ? raw : decodeSegment(raw);
    if (segment === undefined) return undefined;
    literal.push(segment);
  }
  const resolved: string[] = [];
  let same = true;
  for (const segment of literal) {
    if (segment === '' || segment === '.') same = false;
    else if (segment === '..') {
      // Above the root: no server agrees on what it means (nginx refuses it with 400).
      if (resolved.pop() === undefined) return undefined;
      same = false;
    } else resolved.push(segment);
  }
  // Without an empty or dot segment every reading is the same.
  if (same) return [resolved];
  const readings: (readonly string[])[] = [resolved];
  const seen = new Set<string>([key(resolved)]);
  const add = (segments: readonly string[]) => {
    const k = key(segments);
    if (!seen.has(k)) {
      seen.add(k);
      readings.push(segments);
    }
  };
  // B first (the literal reading), then what servers mixing the two ways make of it.
  add(literal);
  const merged = mergeSlashes(literal);
  const resolvedKeepingEmpty = resolveKeepingEmpty(literal);
  for (const mixed of [merged, resolvedKeepingEmpty, resolveKeepingEmpty(merged), mergeSlashes(resolvedKeepingEmpty)]) add(mixed);
  for (const reading of [...readings]) add(withoutTrailingSlash(reading));
  return readings;
}

/** A reading's identity: segments hold no `/`, so the count and the joined text tell them apart. */
const key = (segments: readonly string[]) => `${segments.length}:${segments.join('/')}`;

/** The root, however it was reached (`//` merged, `/a/..` resolved with its trailing slash). */
const rooted = <T extends readonly string[]>(segments: T): T | [] => (segments.length === 1 && segments[0] === '' ? [] : segments);

/**
 * Repeated slashes merged (nginx's merge_slashes, Fastify's ignoreDuplicateSlashes): empty
 * segments go, but a trailing slash stays. Dot segments stay names.
 */
function mergeSlashes(segments: readonly string[]): string[] {
  const last = segments.length - 1;
  return rooted(segments.filter((s, i) => s !== '' || i === last));
}

/**
 * Dot segments resolved with empty segments kept, as the WHATWG URL parser (`new URL`) does:
 * `..` removes the segment before it, empty or not, and a path ending in a dot segment ends
 * with a slash (`/users/x/..` is `/users/`, which a router serves as `/users/:id` with id "").
 */
function resolveKeepingEmpty(segments: readonly string[]): string[] {
  const out: string[] = [];
  for (const s of segments) {
    if (s === '..') out.pop();
    else if (s !== '.') out.push(s);
  }
  const last = segments[segments.length - 1];
  if (last === '.' || last === '..') out.push('');
  return rooted(out);
}

/** Without its trailing slash (Fastify's ignoreTrailingSlash, Express's default non-strict routing). */
const withoutTrailingSlash = (segments: readonly string[]): readonly string[] =>
  segments.length > 0 && segments[segments.length - 1] === '' ? rooted(segments.slice(0, -1)) : segments;

/** One segment percent-decoded once, or undefined when it holds what a path may not (see above). */
function decodeSegment(raw: string): string | undefined {
  const bytes: number[] = [];
  let nonAscii = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c !== PERCENT) {
      bytes.push(c);
      continue;
    }
    const high = hexDigit(raw.charCodeAt(i + 1));
    const low = hexDigit(raw.charCodeAt(i + 2));
    if (high < 0 || low < 0) return undefined;
    const b = high * 16 + low;
    if (refusedDecodedByte(b)) return undefined;
    if (b >= 0x80) nonAscii = true;
    bytes.push(b);
    i += 2;
  }
  let decoded: string;
  try {
    // Fatal: invalid UTF-8, overlong forms (`%c0%ae` for `.`) and encoded surrogates are refused.
    decoded = utf8.decode(new Uint8Array(bytes));
  } catch {
    return undefined;
  }
  if (nonAscii) {
    for (let i = 0; i < decoded.length; i++) {
      const c = decoded.charCodeAt(i);
      // C1 control characters (U+0080 to U+009F) are controls too.
      if (c >= 0x80 && c <= 0x9f) return undefined;
      if (c === DOTTED_CAPITAL_I || c === DOTLESS_I || c === LONG_S || c === KELVIN) return undefined;
    }
  }
  return decoded;
}
