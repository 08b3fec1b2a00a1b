/** Timers a test fires by hand, and a clock it moves by hand: listeners and buses without sleeps. */
import type { Timers } from '../../src/store/capabilities.js';

interface Pending {
  fn: () => void;
  ms: number;
  repeat: boolean;
}

export class ManualTimers implements Timers {
  private next = 0;
  private readonly pending = new Map<number, Pending>();

  setTimeout(fn: () => void, ms: number): unknown {
    this.pending.set(++this.next, { fn, ms, repeat: false });
    return this.next;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  setInterval(fn: () => void, ms: number): unknown {
    this.pending.set(++this.next, { fn, ms, repeat: true });
    return this.next;
  }
  clearInterval(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** Pending one-shot timers, by delay. */
  timeouts(): number[] {
    return [...this.pending.values()].filter((p) => !p.repeat).map((p) => p.ms);
  }
  intervals(): number[] {
    return [...this.pending.values()].filter((p) => p.repeat).map((p) => p.ms);
  }

  /** Fires every interval once (the heartbeat). */
  tick(): void {
    for (const p of [...this.pending.values()]) if (p.repeat) p.fn();
  }

  /** Fires the pending one-shot timers with this delay, and forgets them. Returns how many fired. */
  fire(ms: number): number {
    const due = [...this.pending].filter(([, p]) => !p.repeat && p.ms === ms);
    for (const [id] of due) this.pending.delete(id);
    for (const [, p] of due) p.fn();
    return due.length;
  }
}

/** Waits, turn after turn of the event loop, until `condition` holds; fails after `timeoutMs` (for I/O, not time). */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const start = performance.now();
  while (!(await condition())) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
