/**
 * Failed credential attempts (API keys, tokens) per client address, in memory, in fixed
 * one-window buckets. Guessing a 190-bit key is hopeless anyway; this keeps a flood of guesses
 * from costing a database lookup each. It is per instance (a verification must not wait on a
 * shared store), and only as good as the addresses it sees: behind a proxy, set
 * KEYWARD_TRUST_PROXY, or every client shares the proxy's address and its budget.
 */
export interface FailureLimiterOptions {
  /** Failures allowed per address per window; 0 turns the limit off. */
  max: number;
  windowMs: number;
  now: () => number;
  /** Most addresses tracked; the oldest are forgotten first, so memory stays bounded. */
  maxTracked?: number;
}

export class FailureLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly opts: FailureLimiterOptions) {}

  /** Seconds until this address may try again; 0 when it may now. */
  blockedFor(address: string): number {
    if (this.opts.max <= 0) return 0;
    const w = this.windows.get(address);
    if (!w) return 0;
    const now = this.opts.now();
    if (now - w.start >= this.opts.windowMs) {
      this.windows.delete(address);
      return 0;
    }
    return w.count >= this.opts.max ? Math.max(1, Math.ceil((w.start + this.opts.windowMs - now) / 1000)) : 0;
  }

  fail(address: string): void {
    if (this.opts.max <= 0) return;
    const now = this.opts.now();
    const w = this.windows.get(address);
    if (w && now - w.start < this.opts.windowMs) {
      w.count++;
      return;
    }
    this.windows.delete(address);
    this.windows.set(address, { start: now, count: 1 });
    const limit = this.opts.maxTracked ?? 100_000;
    while (this.windows.size > limit) this.windows.delete(this.windows.keys().next().value as string);
  }
}
