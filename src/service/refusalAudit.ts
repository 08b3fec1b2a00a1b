/**
 * Refused password attempts in the audit log, counted rather than listed: one entry per
 * account, address, reason and window, whose `details.count` says how many it stands for, so
 * that a flood of guesses cannot grow the log without bound. An attempt on an account that does
 * not exist belongs to no tenant, so no API could show its entry: it goes to the log file (at
 * info) instead of the table.
 */
import { createHash, createHmac } from 'node:crypto';
import type { Store } from '../store/store.js';
import type { UserWithPassword } from '../store/users.js';
import { auditEntry } from './context.js';

/** Refusals of one account from one address within this window share one counted entry. */
export const REFUSAL_AUDIT_WINDOW_MS = 15 * 60 * 1000;

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
  constructor(
    private readonly store: Store,
    private readonly opts: { secret: string; now: () => number },
  ) {}

  async record(r: Refusal, log?: RefusalLog): Promise<void> {
    const now = this.opts.now();
    if (!r.user) {
      // The name typed is not logged in clear: people type passwords into the email field.
      // A keyed digest still lets an operator see the same name tried again and again.
      log?.({ event: r.action, reason: r.reason === 'wrong-password' ? 'unknown-account' : r.reason, address: r.address, account: this.digest(r.email) });
      return;
    }
    const windowStart = now - (now % REFUSAL_AUDIT_WINDOW_MS);
    // The uid names the repeat, so that every instance counts into the same entry.
    const uid = createHash('sha256').update(JSON.stringify([r.action, r.user.uid, r.address, r.reason, windowStart])).digest('hex').slice(0, 24);
    const entry = auditEntry(
      { address: r.address },
      now,
      r.action,
      { kind: 'user', uid: r.user.uid, name: r.user.email, ownerUid: r.user.uid },
      { reason: r.reason },
      r.user.tenantUid,
    );
    await this.store.audits.insertOrCount({ ...entry, uid });
  }

  private digest(email: string): string {
    return createHmac('sha256', this.opts.secret).update(`keyward-log-account:${email}`).digest('base64url').slice(0, 16);
  }
}
