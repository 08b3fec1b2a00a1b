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

  constructor(
    private readonly store: Store,
    private readonly flushIntervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush().catch(this.onError), this.flushIntervalMs);
    this.timer.unref();
  }

  record(keyUid: string, at: number): void {
    this.pending.set(keyUid, at);
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    await this.store.transaction((tx) => tx.apiKeys.recordLastUsed(batch));
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }
}
