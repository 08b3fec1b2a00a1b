/**
 * The limits on password guessing, shared by sign-in and password change (each is a guess).
 *
 * 1. In this process, a few password checks at a time per account and per address; more
 *    arrive, and they are refused at once (429), before any database work or hashing. A burst
 *    against one account then costs a handful of scrypt runs, and cannot queue up in front of
 *    everybody else's sign-in on the hashing threads.
 * 2. In the database, three budgets of growing delays (see domain/guessBudget.ts), each reserved
 *    atomically before the password is checked, so that the limit holds under any concurrency
 *    and on every instance sharing the database: the account from this address, the account
 *    from anywhere, and this address over every account (spraying). Any one refusing refuses the
 *    attempt, even with the right password, so that a refusal says nothing about it. The right
 *    password starts the account's budgets over; the address's keeps counting the others.
 *
 * "Address" in both is the client's network key (domain/networkAddress.ts): an IPv6 client's /64,
 * all of which one client holds, so that it cannot take a fresh budget from each of its addresses.
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
 * Password checks allowed at once per account, and per address, in one process. Two lets a
 * person double-submit a form; four per address lets a few people behind one NAT sign in
 * together. Beyond them the request is refused at once: a slow queue would be the attacker's.
 */
export const CONCURRENT_CHECKS_PER_ACCOUNT = 2;
export const CONCURRENT_CHECKS_PER_ADDRESS = 4;

export type GuessOutcome<T> = { ok: true; value: T } | { ok: false; refused: 'busy' | 'rate-limited'; error: KeywardError } | { ok: false; refused: 'wrong' };

const tooMany = (retryAfterMs: number, message: string) => {
  const retryAfter = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new KeywardError('TooManyRequests', `${message} Try again in ${retryAfter} seconds.`, { retryAfter });
};

/** Counts of checks in progress, per key, in this process. */
class InFlight {
  private readonly counts = new Map<string, number>();

  tryEnter(key: string, max: number): boolean {
    const n = this.counts.get(key) ?? 0;
    if (n >= max) return false;
    this.counts.set(key, n + 1);
    return true;
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

  constructor(
    private readonly store: Store,
    private readonly opts: { limits: SignInLimits; now: () => number },
  ) {
    const { perAccountAndAddress, perAccount, perAddress } = opts.limits;
    assertBudget('perAccountAndAddress', perAccountAndAddress);
    assertBudget('perAccount', perAccount);
    assertBudget('perAddress', perAddress);
    // The address first: a spraying address is turned away before it adds rows for new emails.
    this.budgets = [
      ['address', perAddress],
      ['account', perAccount],
      ['pair', perAccountAndAddress],
    ];
  }

  /**
   * Runs `check` (which verifies a password, and answers whether it was right) for `email` from
   * `address`, within the limits. The caller presents the outcome; a refusal carries its 429.
   */
  async attempt<T>(email: string, address: string, check: () => Promise<{ ok: true; value: T } | { ok: false }>): Promise<GuessOutcome<T>> {
    const network = limiterKey(address);
    const accountKey = `account:${email}`;
    const addressKey = `address:${network}`;
    if (!this.inFlight.tryEnter(accountKey, CONCURRENT_CHECKS_PER_ACCOUNT)) {
      return { ok: false, refused: 'busy', error: tooMany(SECOND, 'Too many sign-ins to this account at once.') };
    }
    try {
      if (!this.inFlight.tryEnter(addressKey, CONCURRENT_CHECKS_PER_ADDRESS)) {
        return { ok: false, refused: 'busy', error: tooMany(SECOND, 'Too many sign-ins from your address at once.') };
      }
      try {
        return await this.reserveAndCheck(email, network, check);
      } finally {
        this.inFlight.leave(addressKey);
      }
    } finally {
      this.inFlight.leave(accountKey);
    }
  }

  private async reserveAndCheck<T>(email: string, network: string, check: () => Promise<{ ok: true; value: T } | { ok: false }>): Promise<GuessOutcome<T>> {
    const now = this.opts.now();
    const subjects: Record<GuessScope, string> = { address: network, account: email, pair: `${email} ${network}` };
    const budgets = this.budgets.map(([scope, budget]) => ({ scope, subject: subjects[scope], budget }));
    const refuse = (waits: number[]) => ({
      ok: false as const,
      refused: 'rate-limited' as const,
      // The longest wait of any budget, so that trying again then is not refused by another.
      error: tooMany(Math.max(...waits), 'Too many failed sign-ins.'),
    });
    // Most refusals are decided on a read, without writing: a burst of guesses past the budget
    // costs no writes.
    const waits = await this.store.signInAttempts.waits(budgets, now);
    if (waits.some((w) => w > 0)) return refuse(waits);
    const reserved: GuessScope[] = [];
    for (const { scope, subject, budget } of budgets) {
      const r = await this.store.signInAttempts.reserve(scope, subject, budget, now);
      if (!r.ok) {
        // Another attempt took the last try meanwhile. This one was not tried, so it is not a
        // failure: give back what the other budgets reserved for it.
        for (const done of reserved) await this.store.signInAttempts.release(done, subjects[done], now);
        return refuse([r.retryAfterMs, ...(await this.store.signInAttempts.waits(budgets, now))]);
      }
      reserved.push(scope);
    }
    let result: { ok: true; value: T } | { ok: false };
    try {
      result = await check();
    } catch (err) {
      // Never checked (a database error, say): not a failure either.
      for (const done of reserved) await this.store.signInAttempts.release(done, subjects[done], now).catch(() => {});
      throw err;
    }
    if (!result.ok) return { ok: false, refused: 'wrong' };
    await this.store.signInAttempts.clear('pair', subjects.pair);
    await this.store.signInAttempts.clear('account', subjects.account);
    await this.store.signInAttempts.release('address', subjects.address, now);
    return result;
  }

  /** Forgets budgets that would start over anyway. */
  async prune(): Promise<void> {
    const now = this.opts.now();
    for (const [scope, budget] of this.budgets) await this.store.signInAttempts.prune(scope, now - budget.forgetAfterMs);
  }
}
