/** Password hashing with scrypt (memory-hard, in node:crypto). Stored as scrypt$N$r$p$salt$hash. */
import { randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(scryptCb) as (pw: string, salt: Buffer, len: number, opts: object) => Promise<Buffer>;
const N = 16384;
const R = 8;
const P = 1;
const LENGTH = 32;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, LENGTH, { N, r: R, p: P });
  return ['scrypt', N, R, P, salt.toString('base64'), hash.toString('base64')].join('$');
}

// Verified against when an account does not exist (or has no password), so that a wrong email
// costs the same time as a wrong password and sign-in timing does not reveal accounts.
const DUMMY_HASH = `scrypt$${N}$${R}$${P}$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(LENGTH).toString('base64')}`;

/**
 * The hash a password presented for `user` is checked against: none for a service account, which
 * has no password whatever its row holds, nor for no user. Checking against none still spends the
 * time of a real check (verifyPassword), so a service account's sign-in is refused exactly as a
 * wrong password is: same answer, same time, counted in the same budgets.
 */
export const passwordHashOf = (user: { kind: string; passwordHash: string } | undefined): string | undefined =>
  user === undefined || user.kind === 'service' ? undefined : user.passwordHash;

export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  const usable = stored?.startsWith('scrypt$') ? stored : undefined;
  const [, n, r, p, salt, hash] = (usable ?? DUMMY_HASH).split('$');
  const expected = Buffer.from(hash, 'base64');
  const actual = await scrypt(password, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p) });
  return timingSafeEqual(actual, expected) && usable !== undefined;
}
