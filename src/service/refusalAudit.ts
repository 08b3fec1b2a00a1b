/**
 * Refused password attempts in the audit log, counted rather than listed: one entry per
 * account, address, reason and window, whose `details.count` says how many it stands for, so
 * that a flood of guesses cannot grow the log without bound. An attempt on an account that does
 * not exist belongs to no tenant, so no API could show its entry: it goes to the log file (at
 * info) instead of the table.
 *
 * The first refusal of an entry is written at once; the repeats are counted in memory and
 * added to it every few seconds (and at shutdown), as LastUsedRecorder does for key use: a write
 * per refused request would make a burst of guesses a burst of writes, which on SQLite hold up
 * every other request. Every instance adds its own repeats to the same entry (its uid is derived
 * from what it counts). The cost: a count can lag by one interval, and a crash loses at most one
 * interval of repeats, never the entry.
 */
import { createHash, createHmac } from 'node:crypto';
import type { AuditEntry } from '../store/audits.js';
import type { Store } from '../store/store.js';
import type { UserWithPassword } from '../store/users.js';
import { auditEntry } from './context.js';

/** Refusals of one account from one address within this window share one counted entry. */
export const REFUSAL_AUDIT_WINDOW_MS = 15 * 60 * 1000;
const FLUSH_INTERVAL_MS = 5000;
/** Entries remembered as written; past it each refusal is written itself, so memory stays bounded. */
const MAX_TRACKED = 100_000;

/** Addresses of one account in one window whose refusals get entries of their own (see addressFor). */
const ADDRESSES_PER_ACCOUNT = 10;

/** Where an attempt on an unknown account is told, with the request's own logger. */
export type RefusalLog = (fields: Record<string, unknown>) => void;

export interface Refusal {
  /** `auth.signInFailed`, or `user.passwordChangeFailed`. */
  action: string;
  user: UserWithPassword | undefined;
  email: string;
  address: string;
  reason: 'wrong-password' | 'rate-limited';
}

export class RefusalAudit {
  /** Entries written by this process, with the window they belong to. */
  private written = new Map<string, number>();
  /** Per action, account and window: the addresses that have an entry of their own. */
  private addressesSeen = new Map<string, Set<string>>();
  /** Repeats not yet added to their entry. */
  private pending = new Map<string, { entry: AuditEntry; count: number }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly opts: { secret: string; now: () => number; onError?: (err: unknown) => void },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush().catch((err) => this.opts.onError?.(err)), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }

  async record(r: Refusal, log?: RefusalLog): Promise<void> {
    const now = this.opts.now();
    if (!r.user) {
      // The name typed is not logged in clear: people type passwords into the email field.
      // A keyed digest still lets an operator see the same name tried again and again.
      log?.({ event: r.action, reason: r.reason === 'wrong-password' ? 'unknown-account' : r.reason, address: r.address, account: this.digest(r.email) });
      return;
    }
    const windowStart = now - (now % REFUSAL_AUDIT_WINDOW_MS);
    const address = this.addressFor(r.action, r.user.uid, r.address, r.reason, windowStart);
    const uid = createHash('sha256').update(JSON.stringify([r.action, r.user.uid, address, r.reason, windowStart])).digest('hex').slice(0, 24);
    const pending = this.pending.get(uid);
    if (pending) {
      pending.count++;
      return;
    }
    const entry: AuditEntry = {
      ...auditEntry({ address: r.address }, now, r.action, { kind: 'user', uid: r.user.uid, name: r.user.email, ownerUid: r.user.uid }, { reason: r.reason }, r.user.tenantUid),
      uid,
      address,
    };
    if (this.written.has(uid)) {
      this.pending.set(uid, { entry, count: 1 });
      return;
    }
    if (this.written.size < MAX_TRACKED) this.written.set(uid, windowStart);
    await this.store.audits.insertOrCount(entry, 1);
  }

  /**
   * The address an entry is kept under. Wrong passwords are few (the guessing budgets bound
   * them), so each address gets its own entry. Refusals are as many as an attacker sends, from
   * as many addresses as it has: the first few addresses of an account in a window get their
   * own entries, and the rest share one without an address, so that a burst from a thousand
   * addresses is a few rows (and a few writes), not a thousand.
   */
  private addressFor(action: string, userUid: string, address: string, reason: Refusal['reason'], windowStart: number): string | null {
    if (reason === 'wrong-password') return address;
    const key = `${action} ${userUid} ${windowStart}`;
    let seen = this.addressesSeen.get(key);
    if (!seen) {
      if (this.addressesSeen.size >= MAX_TRACKED) return null;
      seen = new Set();
      this.addressesSeen.set(key, seen);
    }
    if (seen.has(address)) return address;
    if (seen.size >= ADDRESSES_PER_ACCOUNT) return null;
    seen.add(address);
    return address;
  }

  /** Adds the repeats counted so far to their entries. */
  async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    for (const { entry, count } of batch.values()) await this.store.audits.insertOrCount(entry, count);
    // Entries of past windows get no more repeats: forget them.
    const current = this.opts.now() - (this.opts.now() % REFUSAL_AUDIT_WINDOW_MS);
    for (const [uid, windowStart] of this.written) if (windowStart < current) this.written.delete(uid);
    for (const key of this.addressesSeen.keys()) if (Number(key.slice(key.lastIndexOf(' ') + 1)) < current) this.addressesSeen.delete(key);
  }

  private digest(email: string): string {
    return createHmac('sha256', this.opts.secret).update(`keyward-log-account:${email}`).digest('base64url').slice(0, 16);
  }
}
