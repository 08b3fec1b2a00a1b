/**
 * Address allowlists of API keys: the networks (CIDRs) a key may be used from.
 *
 * Every address and network is read as IPv6 (eight 16-bit groups), IPv4 as its IPv4-mapped form
 * `::ffff:a.b.c.d`, so one parser and one comparison serve both. The two families stay apart:
 * an IPv4 client, or an IPv4-mapped one (a dual-stack socket shows an IPv4 client as
 * `::ffff:1.2.3.4`), matches only IPv4 networks; any other IPv6 client matches only IPv6
 * networks. So `::/0` means every IPv6 client and not, through the mapped range it happens to
 * contain, every IPv4 client too. A network inside the mapped range is an IPv4 network and is
 * written as one (`::ffff:10.0.0.0/104` is stored as `10.0.0.0/8`): one spelling each.
 */
import { badRequest } from './errors.js';
import { addressWords, ipv4Value, ipv6Text } from './networkAddress.js';

/** A parsed network: its first address's groups and its prefix length in IPv6 terms (0-128). */
interface Network {
  words: number[];
  prefix: number;
}

/** IPv4-mapped addresses are ::ffff:0:0/96. */
const isMapped = (w: number[]) => w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff;

/** Whether a network is an IPv4 one (inside the mapped range, written as IPv4). */
const isIpv4 = (net: Network) => net.prefix >= 96 && isMapped(net.words);

/** Whether `w` lies in the network of `net` (a prefix compare, group by group). */
function inNetwork(w: number[], net: Network): boolean {
  const full = net.prefix >> 4;
  for (let i = 0; i < full; i++) if (w[i] !== net.words[i]) return false;
  const rest = net.prefix & 15;
  return rest === 0 || (w[full] ^ net.words[full]) >> (16 - rest) === 0;
}

/** `w` with the bits after `prefix` cleared. */
function masked(w: number[], prefix: number): number[] {
  return w.map((x, i) => {
    const bits = Math.min(16, Math.max(0, prefix - i * 16));
    return bits === 16 ? x : bits === 0 ? 0 : x & ((0xffff << (16 - bits)) & 0xffff);
  });
}

/** The normalised text of a network: IPv4 when it lies in the mapped range, RFC 5952 IPv6 otherwise. */
function networkText(net: Network): string {
  if (isIpv4(net)) {
    const [a, b] = [net.words[6], net.words[7]];
    return `${a >> 8}.${a & 0xff}.${b >> 8}.${b & 0xff}/${net.prefix - 96}`;
  }
  return `${ipv6Text(net.words)}/${net.prefix}`;
}

/** Why text is not a network (a message), and for host bits set the network probably meant. */
interface Problem {
  problem: string;
  suggestion?: string;
}

/** Parses a network, or says why it is not one. */
function network(text: string): Network | Problem {
  const fail = (problem: string, suggestion?: string): Problem => ({ problem, suggestion });
  if (typeof text !== 'string') return fail('A network must be text such as "10.0.0.0/8" or "2001:db8::/32".');
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const address = slash < 0 ? trimmed : trimmed.slice(0, slash);
  const v4 = address.indexOf(':') < 0;
  if (address.indexOf('%') >= 0) {
    return fail(`"${text}" has a zone id (%...), which names a network interface of this server, not a client network; leave it out.`);
  }
  const words = addressWords(address, false);
  if (words === undefined) {
    return fail(`"${text}" is not a network: write an IPv4 network as a.b.c.d/n (n from 0 to 32), an IPv6 network as x::/n (n from 0 to 128), or a single address.`);
  }
  const max = v4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const digits = trimmed.slice(slash + 1);
    bits = digits.length > 0 && digits.length <= 3 && !(digits.length > 1 && digits[0] === '0') ? prefixDigits(digits) : -1;
    if (bits < 0 || bits > max) return fail(`"${text}" has prefix length "/${digits}"; it must be a whole number from 0 to ${max}.`);
  }
  const prefix = v4 ? bits + 96 : bits;
  const net: Network = { words: masked(words, prefix), prefix };
  if (net.words.some((x, i) => x !== words[i])) {
    const meant = networkText(net);
    return fail(`"${text}" has host bits set after its /${bits} prefix; did you mean ${meant}?`, meant);
  }
  return net;
}

/** A prefix length's decimal digits as a number, -1 when not digits. */
function prefixDigits(digits: string): number {
  let n = 0;
  for (let i = 0; i < digits.length; i++) {
    const c = digits.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    n = n * 10 + (c - 0x30);
  }
  return n;
}

/**
 * The normalised text of a network (`10.0.0.0/8`, `2001:db8::/32`; a single address gets /32
 * or /128). Throws BadRequest saying what is wrong, and for host bits set (`10.1.2.3/8`) which
 * network was probably meant.
 */
export function parseCidr(text: string): string {
  const net = network(text);
  if (!('words' in net)) throw badRequest(net.problem, net.suggestion ? { cidr: text, suggestion: net.suggestion } : { cidr: text });
  return networkText(net);
}

export interface AddressAllowlist {
  /** The normalised networks. */
  readonly cidrs: readonly string[];
  /** Whether a client at `address` (any textual IP, incl. `::ffff:1.2.3.4`) may use the key; false for anything that is not an IP address. */
  allows(address: string): boolean;
}

/**
 * The allowlist of `cidrs` (as stored: normalised), or undefined when there are none: a key
 * without networks may be used from any address. Throws BadRequest on a bad network.
 */
export function addressAllowlist(cidrs: readonly string[]): AddressAllowlist | undefined {
  if (cidrs.length === 0) return undefined;
  const networks: Network[] = [];
  // IPv4 networks again as 32-bit integers, so the common IPv4 client costs an integer compare.
  const v4: { base: number; mask: number }[] = [];
  const v6: Network[] = [];
  for (const cidr of cidrs) {
    const net = network(cidr);
    if (!('words' in net)) throw badRequest(net.problem, { cidr });
    networks.push(net);
    if (isIpv4(net)) {
      const bits = net.prefix - 96;
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      v4.push({ base: (net.words[6] * 65536 + net.words[7]) >>> 0, mask });
    } else {
      v6.push(net);
    }
  }
  const normalised = Object.freeze(networks.map(networkText));
  return Object.freeze({
    cidrs: normalised,
    allows(address: string): boolean {
      let value: number;
      let words: number[] | undefined;
      if (typeof address === 'string' && address.indexOf(':') < 0) {
        value = ipv4Value(address);
        if (value < 0) return false;
      } else {
        words = addressWords(address);
        if (words === undefined) return false;
        value = isMapped(words) ? (words[6] * 65536 + words[7]) >>> 0 : -1;
      }
      if (value >= 0) {
        for (const n of v4) if (((value & n.mask) >>> 0) === n.base) return true;
        return false;
      }
      for (const n of v6) if (inNetwork(words!, n)) return true;
      return false;
    },
  });
}

/**
 * Whether every address of network `inner` lies in network `outer` (both as parseCidr takes
 * them). False when either is not a network. Used so a key can only hand out networks inside
 * its own.
 */
export function cidrWithin(inner: string, outer: string): boolean {
  const a = network(inner);
  const b = network(outer);
  if (!('words' in a) || !('words' in b)) return false;
  if (isIpv4(a) !== isIpv4(b)) return false;
  return a.prefix >= b.prefix && inNetwork(a.words, b);
}
