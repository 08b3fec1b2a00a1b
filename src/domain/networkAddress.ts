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
