/**
 * Forward-auth refusals that route rules in `audit` mode observed but let through, in the audit
 * log as `authRoute.refusalObserved`: counted rather than listed, as refused sign-ins are
 * (refusalAudit.ts). One entry per key, rule (or reason, where no rule decided) and window, whose
 * `details.count` says how many requests it stands for, so that a busy client on a trial rule
 * costs a row per window, not a write per request.
 *
 * The request is never held up by the audit: the first refusal of an entry is written in the
 * background at once, repeats are counted in memory and added every few seconds (and at stop).
 * Every instance adds its repeats to the same entry (its uid is derived from what it counts).
 * A crash loses at most one interval of repeats, never an entry that was written.
 */
import { createHash } from 'node:crypto';
import type { Principal } from '../domain/model.js';
import type { AuditEntry } from '../store/audits.js';
import type { Store } from '../store/store.js';
import { auditEntry } from './context.js';

/** Observed refusals of one key by one rule within this window share one counted entry. */
export const OBSERVED_REFUSAL_WINDOW_MS = 15 * 60 * 1000;
const FLUSH_INTERVAL_MS = 5000;
/** Entries remembered as written; past it, repeats of unremembered entries are counted each by a write. */
const MAX_TRACKED = 100_000;

export interface ObservedRefusal {
  principal: Principal;
  /** The client's address. */
  address: string;
  reason: string;
  /** The rule that refused (its index), or null where no rule decided (default deny, an unreadable path). */
  rule: number | null;
  method: string | undefined;
  /** The normalised path, when there was one. */
  path: string | undefined;
  missing?: readonly string[];
}

export class ObservedRefusals {
  /** Entries written by this process, with the window they belong to. */
  private written = new Map<string, number>();
  /** Repeats not yet added to their entry. */
  private pending = new Map<string, { entry: AuditEntry; count: number }>();
  /** First writes under way, awaited by flush and stop. */
  private readonly writing = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly opts: { now: () => number; onError: (err: unknown) => void },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush().catch(this.opts.onError), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }

  /** Counts one observed refusal; returns at once (the write, when one is due, runs in the background). */
  record(r: ObservedRefusal): void {
    const now = this.opts.now();
    const windowStart = now - (now % OBSERVED_REFUSAL_WINDOW_MS);
    const keyUid = r.principal.apiKeyUid ?? null;
    const uid = createHash('sha256')
      .update(JSON.stringify(['authRoute.refusalObserved', r.principal.tenantUid, keyUid, r.rule, r.reason, windowStart]))
      .digest('hex')
      .slice(0, 24);
    const pending = this.pending.get(uid);
    if (pending) {
      pending.count++;
      return;
    }
    const details: Record<string, unknown> = { reason: r.reason, rule: r.rule, method: r.method ?? null, path: r.path ?? null };
    if (r.missing !== undefined) details.missing = [...r.missing];
    const entry: AuditEntry = {
      ...auditEntry({ actor: r.principal, address: r.address }, now, 'authRoute.refusalObserved', { kind: 'apiKey', uid: keyUid, name: null, ownerUid: r.principal.userUid }, details),
      uid,
    };
    if (this.written.has(uid)) {
      this.pending.set(uid, { entry, count: 1 });
      return;
    }
    if (this.written.size < MAX_TRACKED) this.written.set(uid, windowStart);
    const write = this.store.audits.insertOrCount(entry, 1).catch(this.opts.onError);
    this.writing.add(write);
    void write.finally(() => this.writing.delete(write));
  }

  /** Adds the repeats counted so far to their entries (after the first writes under way). */
  async flush(): Promise<void> {
    await Promise.all(this.writing);
    const batch = this.pending;
    this.pending = new Map();
    for (const { entry, count } of batch.values()) await this.store.audits.insertOrCount(entry, count);
    const now = this.opts.now();
    const current = now - (now % OBSERVED_REFUSAL_WINDOW_MS);
    for (const [uid, windowStart] of this.written) if (windowStart < current) this.written.delete(uid);
  }
}
