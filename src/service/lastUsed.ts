/**
 * Records when each key was last used without a database write per request: uses are kept in
 * memory and written in one batch every `flushIntervalMs` (and at shutdown). A write per
 * verification would turn the read-only hot path into a write path, serialising every request
 * behind SQLite's single writer or PostgreSQL's row locks. The cost: "Last used" can lag by up
 * to one interval, and a crash loses at most one interval of last-used times, nothing else.
 */
import type { Store } from '../store/store.js';

export class LastUsedRecorder {
  private pending = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly writing = new Set<Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly flushIntervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      // A flush of many keys can outlast the interval: the next one takes what gathered meanwhile.
      if (this.writing.size === 0) this.flush().catch(this.onError);
    }, this.flushIntervalMs);
    this.timer.unref();
  }

  record(keyUid: string, at: number): void {
    this.pending.set(keyUid, at);
  }

  /** Writes what is pending. Uses recorded while it runs wait for the next flush; on failure the batch is kept for it. */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    // Not in a transaction: the store commits chunk by chunk, so writes to keys are not held up.
    const write = this.store.apiKeys.recordLastUsed(batch);
    this.writing.add(write);
    try {
      await write;
    } catch (err) {
      // Chunks already written are rewritten harmlessly next time (times never move backwards).
      for (const [uid, at] of batch) {
        const since = this.pending.get(uid);
        if (since === undefined || since < at) this.pending.set(uid, at);
      }
      throw err;
    } finally {
      this.writing.delete(write);
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    // A flush still running must end before the store closes; a failed one left its batch pending.
    await Promise.allSettled(this.writing);
    await this.flush();
  }
}
