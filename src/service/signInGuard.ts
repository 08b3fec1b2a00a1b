/**
 * The limits on password guessing, shared by sign-in, password change and an admin's reset
 * (each is a guess).
 *
 * 1. In the database, budgets of growing delays (see domain/guessBudget.ts), each reserved
 *    atomically before the password is checked, so that the limit holds under any concurrency
 *    and on every instance sharing the database. An unknown client meets three: the account
 *    from this address, the account from anywhere, and this address over every account
 *    (spraying). Any one refusing refuses the attempt, even with the right password, so that a
 *    refusal says nothing about it. The right password starts the account's budgets over; the
 *    address's keeps counting the others.
 * 2. A known device (a browser holding the device cookie of a past sign-in to this account,
 *    see deviceCookies.ts) meets a budget of its own instead, and never the account's or the
 *    address's: those are what an attacker spread over many addresses, or sharing the owner's
 *    NAT, can exhaust, and the owner must not be locked out by them (OWASP's device cookies).
 * 3. In this process, a few password checks at a time per account from one address, per
 *    account, per address and per device. The slots are taken only once the budgets are
 *    reserved, when a hash will really run: a flood the budgets refuse holds none of them. One
 *    address holds at most half the account's slots, and a known device does not need them.
 *    Beyond them the attempt is refused at once (429), and its reservation given back: a burst
 *    costs a handful of scrypt runs and cannot queue up in front of everybody else's sign-in.
 *
 * "Address" in all of these is the client's network key (domain/networkAddress.ts): an IPv6
 * client's /64, all of which one client holds, so that it cannot take a fresh budget from each.
 */
import { assertBudget, type GuessBudget } from '../domain/guessBudget.js';
import { KeywardError } from '../domain/errors.js';
import { limiterKey } from '../domain/networkAddress.js';
import type { GuessScope } from '../store/signInAttempts.js';
import type { Store } from '../store/store.js';

export interface SignInLimits {
  /** One account from one address: a person who forgot their password, or one machine guessing. */
  perAccountAndAddress: GuessBudget;
  /** One account from every address together: a guesser spread over many addresses. */
  perAccount: GuessBudget;
  /** One address over every account: password spraying. */
  perAddress: GuessBudget;
  /** One account from one known device (its device cookie); absent, `perAccountAndAddress`. */
  perDevice?: GuessBudget;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

export const defaultSignInLimits: SignInLimits = {
  // Five tries, then 30 s, 1, 2, 4, 8 minutes, and 15 minutes from then on: a person who mistypes
  // a few times never waits, one address guessing gets about four tries an hour.
  perAccountAndAddress: { free: 5, firstDelayMs: 30 * SECOND, growth: 2, maxDelayMs: 15 * MINUTE, forgetAfterMs: HOUR },
  // Twenty tries from anywhere, then a wait that grows by half each time and stops at one
  // minute. The cap is low on purpose: this budget is shared with the account's owner, and
  // whoever spreads guesses over many addresses to exhaust it can keep the owner waiting at
  // most a minute at a time (the tenant's only admin included), while still getting no more
  // than one guess a minute at the account.
  perAccount: { free: 20, firstDelayMs: 5 * SECOND, growth: 1.5, maxDelayMs: MINUTE, forgetAfterMs: HOUR },
  // Fifty failures an hour from one address over every account (an office behind one NAT
  // mistypes less than that), then 1, 2, 4, 8 and 15 minutes.
  perAddress: { free: 50, firstDelayMs: MINUTE, growth: 2, maxDelayMs: 15 * MINUTE, forgetAfterMs: HOUR },
};

/**
 * Password checks allowed at once in one process. Two per account from one address or one
 * device lets a person double-submit a form; four per account, of which one address can hold
 * only two, leaves room for the owner beside a guesser; four per address lets a few people
 * behind one NAT sign in together. Beyond them the request is refused at once: a slow queue
 * would be the attacker's.
 */
export const CONCURRENT_CHECKS_PER_ACCOUNT_AND_ADDRESS = 2;
export const CONCURRENT_CHECKS_PER_ACCOUNT = 4;
export const CONCURRENT_CHECKS_PER_ADDRESS = 4;
export const CONCURRENT_CHECKS_PER_DEVICE = 2;

export type GuessOutcome<T> = { ok: true; value: T } | { ok: false; refused: 'busy' | 'rate-limited'; error: KeywardError } | { ok: false; refused: 'wrong' };

type Budget = { scope: GuessScope; subject: string; budget: GuessBudget };

const tooMany = (retryAfterMs: number, message: string) => {
  const retryAfter = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new KeywardError('TooManyRequests', `${message} Try again in ${retryAfter} seconds.`, { retryAfter });
};

/** Counts of checks in progress, per key, in this process. */
class InFlight {
  private readonly counts = new Map<string, number>();

  /** Enters every key, or none when any is full (then answers which). */
  tryEnter(slots: [key: string, max: number][]): string | undefined {
    const full = slots.find(([key, max]) => (this.counts.get(key) ?? 0) >= max);
    if (full) return full[0];
    for (const [key] of slots) this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    return undefined;
  }

  leave(key: string): void {
    const n = (this.counts.get(key) ?? 1) - 1;
    if (n <= 0) this.counts.delete(key);
    else this.counts.set(key, n);
  }
}

export class SignInGuard {
  private readonly inFlight = new InFlight();
  private readonly budgets: [GuessScope, GuessBudget][];
  private readonly perDevice: GuessBudget;

  constructor(
    private readonly store: Store,
    private readonly opts: { limits: SignInLimits; now: () => number },
  ) {
    const { perAccountAndAddress, perAccount, perAddress } = opts.limits;
    assertBudget('perAccountAndAddress', perAccountAndAddress);
    assertBudget('perAccount', perAccount);
    assertBudget('perAddress', perAddress);
    this.perDevice = opts.limits.perDevice ?? perAccountAndAddress;
    assertBudget('perDevice', this.perDevice);
    // The address first: a spraying address is turned away before it adds rows for new emails.
    this.budgets = [
      ['address', perAddress],
      ['account', perAccount],
      ['pair', perAccountAndAddress],
    ];
  }

  /**
   * Runs `check` (which verifies a password, and answers whether it was right) for `email` from
   * `address`, within the limits. `device`: the id of a device cookie the caller has verified to
   * belong to this account. The caller presents the outcome; a refusal carries its 429.
   */
  async attempt<T>(email: string, address: string, check: () => Promise<{ ok: true; value: T } | { ok: false }>, device?: string): Promise<GuessOutcome<T>> {
    const now = this.opts.now();
    const network = limiterKey(address);
    const budgets: Budget[] =
      device === undefined
        ? this.budgets.map(([scope, budget]) => ({ scope, budget, subject: scope === 'address' ? network : scope === 'account' ? email : `${email} ${network}` }))
        : [{ scope: 'device', budget: this.perDevice, subject: `${email} ${device}` }];
    const slots: [string, number][] =
      device === undefined
        ? [
            [`pair:${email} ${network}`, CONCURRENT_CHECKS_PER_ACCOUNT_AND_ADDRESS],
            [`account:${email}`, CONCURRENT_CHECKS_PER_ACCOUNT],
            [`address:${network}`, CONCURRENT_CHECKS_PER_ADDRESS],
          ]
        : [[`device:${email} ${device}`, CONCURRENT_CHECKS_PER_DEVICE]];
    const refuse = (waits: number[]) => ({
      ok: false as const,
      refused: 'rate-limited' as const,
      // The longest wait of any budget, so that trying again then is not refused by another.
      error: tooMany(Math.max(...waits), 'Too many failed sign-ins.'),
    });
    // Most refusals are decided on a read, without writing: a burst of guesses past the budget
    // costs no writes, and holds no slot.
    const waits = await this.store.signInAttempts.waits(budgets, now);
    if (waits.some((w) => w > 0)) return refuse(waits);
    const reserved: Budget[] = [];
    const giveBack = async () => {
      for (const b of reserved) await this.store.signInAttempts.release(b.scope, b.subject, now).catch(() => {});
    };
    for (const b of budgets) {
      const r = await this.store.signInAttempts.reserve(b.scope, b.subject, b.budget, now);
      if (!r.ok) {
        // Another attempt took the last try meanwhile. This one was not tried, so it is not a
        // failure: give back what the other budgets reserved for it.
        await giveBack();
        return refuse([r.retryAfterMs, ...(await this.store.signInAttempts.waits(budgets, now))]);
      }
      reserved.push(b);
    }
    // A hash will run now: only now take the slots, so that refused attempts never hold them.
    const full = this.inFlight.tryEnter(slots);
    if (full !== undefined) {
      await giveBack();
      const what = full.startsWith('address:') ? 'from your address' : 'to this account';
      return { ok: false, refused: 'busy', error: tooMany(SECOND, `Too many sign-ins ${what} at once.`) };
    }
    let result: { ok: true; value: T } | { ok: false };
    try {
      result = await check();
    } catch (err) {
      // Never checked (a database error, say): not a failure either.
      await giveBack();
      throw err;
    } finally {
      for (const [key] of slots) this.inFlight.leave(key);
    }
    if (!result.ok) return { ok: false, refused: 'wrong' };
    if (device !== undefined) {
      // Only the device's own budget: the owner signing in must not hand whoever guesses from
      // elsewhere a fresh account budget.
      await this.store.signInAttempts.clear('device', budgets[0]!.subject);
      return result;
    }
    const subject = (scope: GuessScope) => budgets.find((b) => b.scope === scope)!.subject;
    await this.store.signInAttempts.clear('pair', subject('pair'));
    await this.store.signInAttempts.clear('account', subject('account'));
    await this.store.signInAttempts.release('address', subject('address'), now);
    return result;
  }

  /** Forgets budgets that would start over anyway. */
  async prune(): Promise<void> {
    const now = this.opts.now();
    for (const [scope, budget] of [...this.budgets, ['device', this.perDevice] as const]) await this.store.signInAttempts.prune(scope, now - budget.forgetAfterMs);
  }
}
