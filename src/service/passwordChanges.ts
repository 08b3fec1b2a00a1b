/**
 * Password change (by the user, proving the current password) and reset (by a tenant admin).
 * Either ends sessions: a change every other session of the user, so that whoever else held one
 * is out while the person changing it stays signed in; a reset all of them.
 */
import { badRequest, forbidden, KeywardError, notFound } from '../domain/errors.js';
import { checkNewPassword } from '../domain/passwordPolicy.js';
import type { Store } from '../store/store.js';
import type { UserWithPassword } from '../store/users.js';
import type { AuthService } from './auth.js';
import { auditEntry, type RequestContext } from './context.js';
import { hashPassword, verifyPassword } from './passwords.js';
import type { RefusalLog } from './refusalAudit.js';

const userResource = (u: { uid: string; email: string }) => ({ kind: 'user', uid: u.uid, name: u.email, ownerUid: u.uid });

export interface PasswordChange {
  emailId: string;
  currentPassword: string;
  newPassword: string;
}

export class PasswordService {
  constructor(
    private readonly store: Store,
    private readonly opts: { now: () => number; auth: AuthService },
  ) {}

  /**
   * `PATCH /v1/users/password/change`. The current password is a password guess like a
   * sign-in, and goes through the same limits and the same budgets. `sessionUid` is the
   * caller's own session, when it has one: it stays.
   */
  async change(input: PasswordChange, ctx: { address: string; sessionUid?: string; log?: RefusalLog }): Promise<{ sessionsEnded: number }> {
    const email = input.emailId.trim().toLowerCase();
    // Checked before the guess: a form mistake should not spend one, and says nothing about the account.
    checkNewPassword(input.newPassword, email, 'newPassword');
    if (input.newPassword === input.currentPassword) throw badRequest('The new password must be different from the current one.', { field: 'newPassword' });
    const { guard, refusals } = this.opts.auth;
    const user = await this.store.users.findByEmail(email);
    const outcome = await guard.attempt<UserWithPassword>(email, ctx.address, async () => {
      const ok = await verifyPassword(input.currentPassword, user?.passwordHash);
      return ok && user ? { ok: true, value: user } : { ok: false };
    });
    if (!outcome.ok) {
      const reason = outcome.refused === 'wrong' ? 'wrong-password' : 'rate-limited';
      await refusals.record({ action: 'user.passwordChangeFailed', user, email, address: ctx.address, reason }, ctx.log);
      if (outcome.refused !== 'wrong') throw outcome.error;
      throw new KeywardError('Unauthorized', 'The email or current password is incorrect.', { details: { field: 'currentPassword' } });
    }
    const target = outcome.value;
    const passwordHash = await hashPassword(input.newPassword);
    const now = this.opts.now();
    const actor = this.opts.auth.toPrincipal(target);
    return this.store.transaction(async (tx) => {
      await tx.users.setPasswordHash(target.uid, passwordHash, now);
      const sessionsEnded = await tx.sessions.deleteForUser(target.uid, ctx.sessionUid);
      await tx.audits.insert(auditEntry({ actor, address: ctx.address }, now, 'user.passwordChange', userResource(target), { sessionsEnded }));
      return { sessionsEnded };
    });
  }

  /** `PATCH /v1/users/{uid}/password/reset`: a tenant admin sets a user's password; all their sessions end. */
  async reset(ctx: RequestContext, uid: string, newPassword: string): Promise<{ sessionsEnded: number }> {
    if (!ctx.actor.isAdmin) throw forbidden("Only a tenant admin can reset a user's password. To change your own, use PATCH /v1/users/password/change.");
    const user = await this.store.users.findByUid(uid);
    if (!user || user.tenantUid !== ctx.actor.tenantUid) throw notFound(`User ${uid}`);
    checkNewPassword(newPassword, user.email, 'newPassword');
    const passwordHash = await hashPassword(newPassword);
    const now = this.opts.now();
    const result = await this.store.transaction(async (tx) => {
      if (!(await tx.users.setPasswordHash(uid, passwordHash, now))) throw notFound(`User ${uid}`);
      const sessionsEnded = await tx.sessions.deleteForUser(uid);
      await tx.audits.insert(auditEntry(ctx, now, 'user.passwordReset', userResource(user), { sessionsEnded }));
      return { sessionsEnded };
    });
    // The user may sign in with the new password at once, whatever guessing went on before.
    await this.store.signInAttempts.clear('account', user.email);
    return result;
  }
}
