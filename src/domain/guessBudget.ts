/**
 * How many password guesses a budget allows, and how long to wait after each one past it.
 * Growing delays rather than a lock: whoever holds the budget can always try again after the
 * delay, and the delay stops growing at a cap, so nobody can lock an account for long by failing
 * on purpose; a guesser still gets few tries an hour once past the free ones.
 */
export interface GuessBudget {
  /** Failures allowed back to back before any delay. */
  free: number;
  /** The wait after the first failure past `free`. */
  firstDelayMs: number;
  /** Each further failure multiplies the wait by this (at least 1). */
  growth: number;
  /** The wait never grows past this. */
  maxDelayMs: number;
  /** A budget left alone this long starts over. Longer than `maxDelayMs`, or the cap could be waited out for a fresh start. */
  forgetAfterMs: number;
}

/** More steps than any sensible budget has; bounds the table below whatever the numbers. */
const MAX_STEPS = 64;

/**
 * The waits after `free`, `free + 1`, ... failures, up to and including the first that reaches
 * the cap: the store writes them into its atomic reservation (see store/signInAttempts.ts), and
 * every count past the table waits the cap.
 */
export function delaySteps(b: GuessBudget): number[] {
  const steps: number[] = [];
  let delay = b.firstDelayMs;
  while (steps.length < MAX_STEPS) {
    const step = Math.min(Math.round(delay), b.maxDelayMs);
    steps.push(step);
    if (step >= b.maxDelayMs) break;
    delay *= Math.max(b.growth, 1);
    if (b.growth <= 1) break;
  }
  return steps;
}

/** The wait after `failures` counted failures before the next attempt; 0 within the free ones. */
export function delayAfter(failures: number, b: GuessBudget): number {
  if (failures < b.free) return 0;
  const steps = delaySteps(b);
  return steps[Math.min(failures - b.free, steps.length - 1)]!;
}

/** A budget that makes sense: whole non-negative numbers, and a memory longer than the cap. */
export function assertBudget(name: string, b: GuessBudget): void {
  const whole = [b.free, b.firstDelayMs, b.maxDelayMs, b.forgetAfterMs].every((n) => Number.isSafeInteger(n) && n >= 0);
  if (!whole || !(b.growth >= 1) || b.firstDelayMs > b.maxDelayMs || b.forgetAfterMs <= b.maxDelayMs) {
    throw new Error(`sign-in budget ${name} is not valid: ${JSON.stringify(b)}`);
  }
}
