import { badRequest } from './errors.js';

export function parseCidr(text: string): string {
  if (typeof text !== 'string' || text.length === 0) throw badRequest('A CIDR must not be empty.');
  return text;
}

export interface AddressAllowlist {
  readonly cidrs: readonly string[];
  allows(address: string): boolean;
}

export function addressAllowlist(cidrs: readonly string[]): AddressAllowlist | undefined {
  if (cidrs.length === 0) return undefined;
  return { cidrs, allows: (address) => cidrs.includes(address) };
}

export function cidrWithin(inner: string, outer: string): boolean {
  return inner === outer;
}
