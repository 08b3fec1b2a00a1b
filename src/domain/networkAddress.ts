/**
 * One spelling per client address, and one key per client network for the guessing limits.
 *
 * IPv6 text has many spellings of one address (`2001:DB8::1`, `2001:0db8:0:0::1`, a zone id,
 * `::ffff:1.2.3.4` for an IPv4 client of a dual-stack socket); an address spelled two ways would
 * get two budgets and two names in the audit log. And an IPv6 client is handed a whole /64
 * (2^64 addresses) by its provider, so a limit per address is no limit there: the limits count
 * per /64, as they count per IPv4 address.
 *
 * Hand-written rather than through node:net's SocketAddress, which canonicalises too but costs
 * a few microseconds a call, and this runs on every request from an IPv6 client.
 */
import { isIP } from 'node:net';

/** The eight 16-bit groups of `text`, which isIP has accepted as IPv6 (no zone id). */
function words(text: string): number[] {
  let head = text;
  let tail: number[] = [];
  // A dotted IPv4 ending (`::ffff:1.2.3.4`) is the last two groups.
  const dot = text.indexOf('.');
  if (dot >= 0) {
    const colon = text.lastIndexOf(':');
    const [a, b, c, d] = text.slice(colon + 1).split('.').map(Number);
    tail = [(a << 8) | b, (c << 8) | d];
    head = text.slice(0, colon + 1);
    // `::1.2.3.4` leaves `::`, `1:2::3:1.2.3.4` leaves `1:2::3:`: drop a lone trailing colon.
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((w) => parseInt(w, 16)));
  const gap = head.indexOf('::');
  if (gap < 0) return [...parse(head), ...tail];
  const left = parse(head.slice(0, gap));
  const right = [...parse(head.slice(gap + 2)), ...tail];
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/** RFC 5952 text: lower case, no leading zeros, the longest run of two or more zero groups as `::`. */
function format(w: number[]): string {
  let bestAt = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLength) {
      bestAt = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) => w.slice(from, to).map((x) => x.toString(16)).join(':');
  return bestAt < 0 ? hex(0, 8) : `${hex(0, bestAt)}::${hex(bestAt + bestLength, 8)}`;
}

/** An IPv4-mapped address (`::ffff:a.b.c.d`) as the IPv4 address it is. */
function mappedIpv4(w: number[]): string | undefined {
  if (w[0] !== 0 || w[1] !== 0 || w[2] !== 0 || w[3] !== 0 || w[4] !== 0 || w[5] !== 0xffff) return undefined;
  return `${w[6] >> 8}.${w[6] & 0xff}.${w[7] >> 8}.${w[7] & 0xff}`;
}

/**
 * The canonical text of an IP address: IPv4 as it is (isIP accepts only the plain dotted form),
 * IPv4-mapped IPv6 as its IPv4 address, other IPv6 in RFC 5952 form without a zone id (the zone
 * names an interface of the host that saw the address, not the client). Undefined when `text`
 * is not an IP address.
 */
export function canonicalAddress(text: string): string | undefined {
  const version = isIP(text);
  if (version === 4) return text;
  if (version !== 6) return undefined;
  const zone = text.indexOf('%');
  const w = words(zone < 0 ? text : text.slice(0, zone));
  return mappedIpv4(w) ?? format(w);
}

/**
 * The key the guessing limits count a client under: an IPv4 address itself, an IPv6 address's
 * /64 network (`2001:db8:1:2::/64`), an IPv4-mapped address as its IPv4 address. Text that is
 * not an IP address (there should be none) is its own key.
 */
export function limiterKey(address: string): string {
  // Most clients: an IPv4 address, already in its only spelling.
  if (!address.includes(':')) return address;
  if (isIP(address) !== 6) return address;
  const zone = address.indexOf('%');
  const w = words(zone < 0 ? address : address.slice(0, zone));
  return mappedIpv4(w) ?? `${format([w[0], w[1], w[2], w[3], 0, 0, 0, 0])}/64`;
}

/** The value of a dotted IPv4 address `a.b.c.d` (decimal, no leading zeros) in text[from, to), or -1. */
export function ipv4Value(text: string, from = 0, to = text.length): number {
  let value = 0;
  let parts = 0;
  let i = from;
  while (parts < 4) {
    const start = i;
    let part = 0;
    while (i < to) {
      const c = text.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      part = part * 10 + (c - 0x30);
      i++;
    }
    const digits = i - start;
    // Leading zeros are refused: some parsers read `010` as octal (8), others as 10.
    if (digits === 0 || digits > 3 || part > 255 || (digits > 1 && text.charCodeAt(start) === 0x30)) return -1;
    value = value * 256 + part;
    parts++;
    if (parts < 4) {
      if (text.charCodeAt(i) !== 0x2e) return -1;
      i++;
    }
  }
  return i === to ? value : -1;
}

/** The value of 1 to 4 hex digits in text[from, to), or -1. */
function hexWord(text: string, from: number, to: number): number {
  const n = to - from;
  if (n < 1 || n > 4) return -1;
  let value = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    let d: number;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
    else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
    else return -1;
    value = value * 16 + d;
  }
  return value;
}

/**
 * Pushes the groups of text[from, to) (colon-separated, the last may be dotted IPv4 when
 * `v4Tail`) onto `out`; false when one is malformed. An empty range has no groups.
 */
function pushGroups(text: string, from: number, to: number, v4Tail: boolean, out: number[]): boolean {
  if (from === to) return true;
  let start = from;
  for (;;) {
    let end = start;
    while (end < to && text.charCodeAt(end) !== 0x3a) end++;
    const last = end === to;
    if (last && v4Tail && text.indexOf('.', start) >= 0 && text.indexOf('.', start) < to) {
      const v4 = ipv4Value(text, start, end);
      if (v4 < 0) return false;
      out.push(Math.floor(v4 / 65536), v4 % 65536);
    } else {
      const w = hexWord(text, start, end);
      if (w < 0) return false;
      out.push(w);
    }
    if (last) return true;
    start = end + 1;
  }
}

/**
 * The eight 16-bit groups of an IP address, by hand and without a regex (this runs per request
 * for keys with an address allowlist): IPv6 in any spelling, with or without a zone id (dropped),
 * and IPv4 `a.b.c.d` as its IPv4-mapped IPv6 address `::ffff:a.b.c.d`, so one comparison serves
 * both families. Undefined when `text` is not an IP address.
 */
export function addressWords(text: string, allowZone = true): number[] | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > 100) return undefined;
  if (text.indexOf(':') < 0) {
    const v4 = ipv4Value(text);
    return v4 < 0 ? undefined : [0, 0, 0, 0, 0, 0xffff, Math.floor(v4 / 65536), v4 % 65536];
  }
  let end = text.indexOf('%');
  if (end >= 0 && (!allowZone || end === text.length - 1)) return undefined;
  if (end < 0) end = text.length;
  const gap = text.indexOf('::');
  if (gap >= end) return undefined;
  const out: number[] = [];
  if (gap < 0) {
    if (!pushGroups(text, 0, end, true, out) || out.length !== 8) return undefined;
    return out;
  }
  if (text.indexOf('::', gap + 1) >= 0 && text.indexOf('::', gap + 1) < end) return undefined;
  if (!pushGroups(text, 0, gap, false, out)) return undefined;
  const left = out.length;
  const right: number[] = [];
  if (!pushGroups(text, gap + 2, end, true, right)) return undefined;
  // `::` stands for at least one zero group.
  if (left + right.length > 7) return undefined;
  for (let i = left + right.length; i < 8; i++) out.push(0);
  for (const w of right) out.push(w);
  return out;
}

/** RFC 5952 text of eight 16-bit groups (no IPv4-mapped special case). */
export const ipv6Text = (w: number[]): string => format(w);
