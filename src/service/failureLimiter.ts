/**
 * Failed credential attempts (API keys, tokens) per client address, in one-minute windows.
 *
 * The count is shared: every failure is added to the database's count for that address and
 * window, so N instances do not allow N times the budget and a restart forgets nothing. The
 * check is local: once an instance has seen an address reach the limit it refuses it from
 * memory until the window ends, so a flood of guesses costs at most `max` database writes per
 * address and window, and a good key never waits on the count at all. Another instance learns
 * of the block on that address's next failure there, so across N instances an address gets at
 * most `max + N - 1` counted failures a window.
 *
 * Refusing means refusing failures: a blocked address's valid credentials still get through
 * (see service/authenticate.ts for why, and what that costs). It is only as good
 * as the addresses it sees: behind a proxy, set KEYWARD_TRUST_PROXY, or every client shares the
 * proxy's address and its budget. An address is counted under its network key (an IPv6 client's
 * /64, see domain/networkAddress.ts): otherwise each of the 2^64 addresses one IPv6 client holds
 * would get a budget of its own, and a database write per guess.
 */
import { limiterKey } from '../domain/networkAddress.js';

export interface FailureLimiterOptions {
  /** Failures allowed per address per window; 0 turns the limit off. */
  max: number;
  windowMs: number;
  now: () => number;
  /** The count shared by every instance; without it the limit is this instance's alone. */
  shared?: { add(address: string, windowStart: number): Promise<number> };
  /** A shared count that could not be written; the local count still holds. */
  onError?: (err: unknown) => void;
  /** Most addresses tracked in memory; the oldest are forgotten first, so memory stays bounded. */
  maxTracked?: number;
}

export class FailureLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly opts: FailureLimiterOptions) {}

  private windowStart(now: number): number {
    return now - (now % this.opts.windowMs);
  }

  /** Seconds until this address may try again; 0 when it may now. */
  blockedFor(address: string): number {
    // Read on every authenticated request: no key to compute while nobody has failed.
    if (this.opts.max <= 0 || this.windows.size === 0) return 0;
    const key = limiterKey(address);
    const w = this.windows.get(key);
    if (!w) return 0;
    const now = this.opts.now();
    if (this.windowStart(now) !== w.start) {
      this.windows.delete(key);
      return 0;
    }
    return w.count >= this.opts.max ? Math.max(1, Math.ceil((w.start + this.opts.windowMs - now) / 1000)) : 0;
  }

  async fail(address: string): Promise<void> {
    if (this.opts.max <= 0) return;
    const key = limiterKey(address);
    const start = this.windowStart(this.opts.now());
    let w = this.windows.get(key);
    if (w && w.start === start) {
      w.count++;
    } else {
      this.windows.delete(key);
      w = { start, count: 1 };
      this.windows.set(key, w);
      const limit = this.opts.maxTracked ?? 100_000;
      while (this.windows.size > limit) this.windows.delete(this.windows.keys().next().value as string);
    }
    if (!this.opts.shared) return;
    try {
      const total = await this.opts.shared.add(key, start);
      if (total > w.count) w.count = total;
    } catch (err) {
      this.opts.onError?.(err);
    }
  }
}
