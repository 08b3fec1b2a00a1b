/**
 * The one spelling of a request path that forward-auth's route rules are matched against.
 *
 * This is a security boundary: a rule protecting `/admin` must also catch `/x/../admin`,
 * `//admin`, `/%61dmin` and `/./admin`, which the protected server resolves to /admin. So the
 * path is decoded once and resolved as a server would, and anything whose meaning differs
 * between servers is refused (undefined) rather than guessed:
 * - backslashes (some servers read them as `/`), NUL and control characters, raw or encoded;
 * - encoded `/` or `\` (`%2F`, `%5C`: one server splits on them, another does not);
 * - `;` raw or encoded (Java servers drop `;params` from a segment, so `/admin;x` is /admin there);
 * - a `%` not followed by two hex digits, or left after the one decode (`%252e`: double encoding);
 * - bytes that are not valid UTF-8 after decoding, including overlong forms such as `%c0%ae`;
 * - encoded dot segments (`%2e%2e`, `.%2E`): nginx and browsers resolve them, application
 *   routers often take them as names, so what the rule and the server see would differ;
 * - raw characters outside printable ASCII (clients percent-encode them; nginx passes them raw);
 * - `..` above the root, and anything not starting with `/` (absolute URLs included).
 * Repeated slashes collapse, `.` and `..` resolve, and a trailing slash goes (`/a/` matches as
 * `/a`). Query and fragment are dropped. Case is kept; the matcher compares ASCII letters
 * case-insensitively.
 */

const SLASH = 0x2f;
const DOT = 0x2e;
const PERCENT = 0x25;
const BACKSLASH = 0x5c;
const SEMICOLON = 0x3b;
const QUESTION = 0x3f;
const HASH = 0x23;

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
 * The normalised path of a request URI (`/a/b` for `/a/./c/../b/?x=1`), or undefined when the
 * URI is refused (see above). Cheap for the common path that is already normal.
 */
export function normaliseRequestPath(uri: string): string | undefined {
  if (typeof uri !== 'string' || uri.charCodeAt(0) !== SLASH) return undefined;
  // Fast path: printable ASCII without `%`, `\`, `;`, `//` or `/.` is already normal.
  let end = uri.length;
  let simple = true;
  let previous = 0;
  for (let i = 0; i < uri.length; i++) {
    const c = uri.charCodeAt(i);
    if (c === QUESTION || c === HASH) {
      end = i;
      break;
    }
    if (c <= 0x20 || c >= 0x7f || c === BACKSLASH) return undefined;
    if (c === PERCENT || c === SEMICOLON || (previous === SLASH && (c === SLASH || c === DOT))) simple = false;
    previous = c;
  }
  if (simple) {
    if (end > 1 && uri.charCodeAt(end - 1) === SLASH) end--;
    return end === uri.length ? uri : uri.slice(0, end);
  }
  return slowPath(uri.slice(0, end));
}

function slowPath(path: string): string | undefined {
  // The caller has checked: printable ASCII, no backslash. Encoded `/` is refused, so splitting
  // the raw path on `/` gives the segments the decoded path would have.
  const segments: string[] = [];
  for (const raw of path.split('/')) {
    if (raw.indexOf(';') >= 0) return undefined;
    const segment = raw.indexOf('%') < 0 ? raw : decodeSegment(raw);
    if (segment === undefined) return undefined;
    if (segment === '' || segment === '.') {
      // An encoded dot segment (`%2e`, `.%2E`): browsers and nginx resolve it, many application
      // routers take it as a literal name. The servers disagree, so it is refused.
      if (segment !== raw) return undefined;
      continue;
    }
    if (segment === '..') {
      if (segment !== raw || segments.length === 0) return undefined;
      segments.pop();
      continue;
    }
    segments.push(segment);
  }
  return `/${segments.join('/')}`;
}

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
    // C1 control characters (U+0080 to U+009F) are controls too.
    for (let i = 0; i < decoded.length; i++) {
      const c = decoded.charCodeAt(i);
      if (c >= 0x80 && c <= 0x9f) return undefined;
    }
  }
  return decoded;
}
