/**
 * What a bus does with messages it cannot read. Anyone who may connect to the database can send
 * one (`select pg_notify('keyward_key_changes', 'garbage')`), and so could an instance of another
 * version during an upgrade. Its content is unknown, so it may have been a revocation: caches
 * must still be cleared (safety first). But clearing every instance's cache for every such
 * message, and logging a stack each time, lets any database user slow every instance and flood
 * its log. So: at most one clear a second (a message inside the second is still followed by a
 * clear at its end, never dropped), and one line, without a stack, at most once a minute.
 */
import type { Timers } from '../../store/capabilities.js';

export const CLEAR_AT_MOST_EVERY_MS = 1000;
export const LOG_AT_MOST_EVERY_MS = 60_000;

const realTimers: Pick<Timers, 'setTimeout' | 'clearTimeout'> = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class UnreadableMessages {
  private lastClearAt = -Infinity;
  private trailing: unknown;
  private lastLogAt = -Infinity;
  /** Messages not yet told in the log. */
  private untold = 0;

  constructor(
    private readonly opts: {
      channel: string;
      clear: () => void;
      log: (err: Error) => void;
      now?: () => number;
      timers?: Pick<Timers, 'setTimeout' | 'clearTimeout'>;
    },
  ) {}

  private now() {
    return (this.opts.now ?? performance.now.bind(performance))();
  }

  heard(payload: string): void {
    const now = this.now();
    this.untold++;
    if (now - this.lastLogAt >= LOG_AT_MOST_EVERY_MS) {
      this.lastLogAt = now;
      const err = new Error(
        `${this.untold} unreadable message(s) on ${this.opts.channel} (the last ${payload.length} characters long): caches cleared as after missed events; ` +
          'Keyward should have its own database, with CONNECT revoked from PUBLIC',
      );
      // One line: where this was noticed says nothing about who sent it.
      err.stack = undefined;
      this.untold = 0;
      this.opts.log(err);
    }
    if (now - this.lastClearAt >= CLEAR_AT_MOST_EVERY_MS) {
      this.clearNow();
    } else if (this.trailing === undefined) {
      const timers = this.opts.timers ?? realTimers;
      this.trailing = timers.setTimeout(() => this.clearNow(), this.lastClearAt + CLEAR_AT_MOST_EVERY_MS - now);
    }
  }

  private clearNow() {
    this.trailing = undefined;
    this.lastClearAt = this.now();
    this.opts.clear();
  }

  stop(): void {
    if (this.trailing !== undefined) (this.opts.timers ?? realTimers).clearTimeout(this.trailing);
    this.trailing = undefined;
  }
}
