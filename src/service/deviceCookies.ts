/**
 * Device cookies (OWASP's defence against lockout as a weapon): a browser that once signed in
 * to an account with the right password is given a cookie that names that account and a random
 * device id, signed with a key derived from the server secret. Presented again with a sign-in to
 * the same account, it lets the attempt be judged on a budget of its own (see signInGuard.ts),
 * so the owner is not refused because guessers elsewhere exhausted the account's or the
 * address's budgets. It grants nothing else: it is no session, opens no API, and a stolen one
 * still needs the password, within its own growing delays.
 *
 * One cookie per account (its name carries a keyed digest of the user's uid), so that people who
 * share a browser keep theirs. Clients that keep no cookies (API clients) never have one: they
 * meet the account's and the address's budgets as before.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** How long a device stays known without signing in again. */
export const DEVICE_COOKIE_LIFETIME_MS = 180 * 24 * 60 * 60 * 1000;
const PREFIX = 'keyward_device_';
const ID = /^[A-Za-z0-9_-]{22}$/;

export class DeviceCookies {
  private readonly key: Buffer;

  constructor(secret: string) {
    // Its own key: neither the session tokens' nor the API keys' can stand in for it.
    this.key = createHmac('sha256', secret).update('keyward-device-cookie').digest();
  }

  private mac(text: string): string {
    return createHmac('sha256', this.key).update(text).digest('base64url');
  }

  /** The cookie's name for one account: not the uid itself, which is nobody's business. */
  name(userUid: string): string {
    return PREFIX + this.mac(`name ${userUid}`).slice(0, 16);
  }

  /** A cookie value for `userUid`: for the device `id` it already has, or a new one. */
  issue(userUid: string, id = randomBytes(16).toString('base64url')): string {
    return `${userUid}.${id}.${this.mac(`device ${userUid} ${id}`)}`;
  }

  /** The device id of a well-signed cookie for `userUid`, or undefined. */
  verify(value: string | undefined, userUid: string): string | undefined {
    if (typeof value !== 'string' || value.length > 200) return undefined;
    const [uid, id, mac, ...rest] = value.split('.');
    if (rest.length > 0 || !uid || uid !== userUid || !id || !ID.test(id) || !mac) return undefined;
    const expected = Buffer.from(this.mac(`device ${uid} ${id}`));
    const given = Buffer.from(mac);
    return expected.length === given.length && timingSafeEqual(expected, given) ? id : undefined;
  }
}
