/**
 * The addresses one client can be assumed to hold, for limits per client: an IPv4 address is one
 * client, but an IPv6 host is commonly given a whole /64 and can pick any address in it, so a limit
 * per IPv6 address would be a limit per connection.
 */
import { isIP } from 'node:net';

/** A key for `address`'s group: the IPv4 address itself (also when IPv4-mapped), or the IPv6 /64 it is in. */
export function addressGroup(address: string | undefined): string {
  if (address === undefined) return '';
  // A scope (fe80::1%eth0) names the interface, not another client.
  const text = address.split('%')[0].toLowerCase();
  const version = isIP(text);
  if (version !== 6) return text;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (mapped) return mapped[1];
  const [head, tail] = text.split('::');
  const groups = (part: string | undefined) => (part ? part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : []);
  const left = groups(head);
  const right = groups(tail);
  const all = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${all
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
