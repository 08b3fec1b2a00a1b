/**
 * The client's address behind proxies (KEYWARD_TRUST_PROXY). Each proxy appends the address it
 * saw to X-Forwarded-For, so only entries counted from the right, as far as the trusted proxies
 * reach, were written by someone we trust; everything further left is the client's own claim.
 * The answer is always a valid IP address, in its one canonical spelling (domain/networkAddress.ts),
 * so that one client has one budget and one name in the audit log: an entry may carry a port or
 * brackets (`1.2.3.4:5678`, `[2001:db8::1]:443`, as some proxies write them), which are dropped;
 * an entry that is no address at all (`unknown`, garbage) ends the walk, and the last trusted hop
 * stands.
 */
import { BlockList, isIP } from 'node:net';
import { canonicalAddress } from '../domain/networkAddress.js';

/** `false`: the socket's peer is the client. `hops`: that many proxies in front. `proxies`: proxies are the peers in these ranges. */
export type TrustProxy = false | { hops: number } | { proxies: string[] };

const MAX_HOPS = 32;

const USAGE = 'KEYWARD_TRUST_PROXY must be false, true (one proxy), a number of proxy hops, or a comma-separated list of proxy addresses or CIDRs';

/** Parses the setting; throws an Error whose message is a one-line reason. */
export function parseTrustProxy(raw: string | undefined): TrustProxy {
  const text = (raw ?? '').trim().toLowerCase();
  if (text === '' || text === 'false' || text === '0') return false;
  if (text === 'true') return { hops: 1 };
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    if (hops > MAX_HOPS) throw new Error(`${USAGE} (got ${hops} hops; at most ${MAX_HOPS})`);
    return { hops };
  }
  const proxies = text.split(',').map((s) => s.trim());
  for (const p of proxies) {
    const cidr = parseCidr(p);
    if (cidr === undefined) throw new Error(`${USAGE} (got "${raw}": "${p}" is not an IP address or CIDR)`);
    // Every address would be a proxy of ours, so the walk would go to the leftmost entry, which
    // the client writes itself: the spoofing the setting exists to prevent.
    if (cidr.prefix === 0) throw new Error(`${USAGE} (got "${raw}": "${p}" would trust every address as a proxy, letting any client choose its own address; name your proxies' addresses or ranges)`);
  }
  return { proxies };
}

function parseCidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address, prefixText, ...rest] = text.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0 || address.includes('%')) return undefined;
  const max = version === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** Whether `address` (the socket's peer) is a proxy we trust: decides whether X-Forwarded-* headers are believed at all. */
export function trustsPeer(trust: TrustProxy): (address: string | undefined) => boolean {
  if (trust === false) return () => false;
  if ('hops' in trust) return () => true;
  const list = new BlockList();
  for (const p of trust.proxies) {
    const { address, prefix, family } = parseCidr(p)!;
    list.addSubnet(address, prefix, family);
  }
  // BlockList matches an IPv4-mapped IPv6 address (::ffff:10.0.0.1) against IPv4 ranges.
  return (address) => {
    const version = address === undefined ? 0 : isIP(address);
    return version !== 0 && list.check(address!, version === 4 ? 'ipv4' : 'ipv6');
  };
}

// An IPv4 address with a port, and an IPv6 address in brackets with or without one.
const IPV4_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/;
const BRACKETED = /^\[([^\]]+)\](?::\d{1,5})?$/;

/** The canonical address an X-Forwarded-For entry names, or undefined when it names none. */
export function forwardedAddress(entry: string): string | undefined {
  const direct = canonicalAddress(entry);
  if (direct !== undefined) return direct;
  const v4 = IPV4_PORT.exec(entry);
  if (v4 !== null) return canonicalAddress(v4[1]);
  const v6 = BRACKETED.exec(entry);
  // Brackets hold an IPv6 address; a bracketed IPv4 address is no form anyone writes.
  return v6 !== null && isIP(v6[1]) === 6 ? canonicalAddress(v6[1]) : undefined;
}

/**
 * The resolver for one setting: given the socket's peer address and the X-Forwarded-For header,
 * the client's address. Walks the header from its right end, without splitting it into an array:
 * this runs once per request.
 */
export function clientAddressResolver(trust: TrustProxy): (peer: string | undefined, forwardedFor: string | string[] | undefined) => string | undefined {
  if (trust === false) return (peer) => peer;
  const trusted = trustsPeer(trust);
  const maxHops = 'hops' in trust ? trust.hops : Number.POSITIVE_INFINITY;
  // The socket gives an IPv4 client of a dual-stack listener as ::ffff:a.b.c.d.
  const canonicalPeer = (peer: string | undefined) => (peer === undefined ? undefined : (canonicalAddress(peer) ?? peer));
  return (peer, forwardedFor) => {
    if (forwardedFor === undefined || !trusted(peer)) return canonicalPeer(peer);
    const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor;
    let address = canonicalPeer(peer);
    let end = header.length;
    for (let hop = 0; hop < maxHops; hop++) {
      const comma = header.lastIndexOf(',', end - 1);
      const entry = forwardedAddress(header.slice(comma + 1, end).trim());
      // A forged or garbled entry never becomes the address: the last trusted hop stands.
      if (entry === undefined) return address;
      address = entry;
      // With proxy ranges, the first address that is not a proxy of ours is the client.
      if (comma < 0 || !trusted(entry)) return address;
      end = comma;
    }
    return address;
  };
}
