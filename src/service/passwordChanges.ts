/**
 * Password change (by the user, proving the current password) and reset (by a tenant admin).
 * Either ends sessions: a change every other session of the user, so that whoever else held one
 * is out while the person changing it stays signed in; a reset all of them.
 */
import { badRequest, forbidden, KeywardError, notFound } from '../domain/errors.js';
import { checkNewPassword } from '../domain/passwordPolicy.js';
import type { Store } from '../store/store.js';
import type { UserWithPassword } from '../store/users.js';
import type { AuthService, CookieJar } from './auth.js';
import { auditEntry, type RequestContext } from './context.js';
import { hashPassword, passwordHashOf, verifyPassword } from './passwords.js';
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
  async change(input: PasswordChange, ctx: { address: string; sessionUid?: string; log?: RefusalLog; cookies?: CookieJar }): Promise<{ sessionsEnded: number }> {
    const email = input.emailId.trim().toLowerCase();
    // Checked before the guess: a form mistake should not spend one, and says nothing about the account.
    checkNewPassword(input.newPassword, email, 'newPassword');
    if (input.newPassword === input.currentPassword) throw badRequest('The new password must be different from the current one.', { field: 'newPassword' });
    const { guard, refusals } = this.opts.auth;
    const user = await this.store.users.findByEmail(email);
    const outcome = await guard.attempt<UserWithPassword>(
      email,
      ctx.address,
      async () => {
        // A service account has no current password to prove, so its change fails here as a
        // wrong one: answering anything else, with no session asked for, would tell anyone
        // which emails belong to service accounts.
        const ok = await verifyPassword(input.currentPassword, passwordHashOf(user));
        return ok && user ? { ok: true, value: user } : { ok: false };
      },
      this.opts.auth.knownDevice(user, ctx.cookies),
    );
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

  /**
   * `PATCH /v1/users/{uid}/password/reset`: a tenant admin sets another user's password; all
   * their sessions end. Taking over an account this way needs a person at the keyboard: not an
   * API key (a leaked key must not turn into a password), not one's own account (whoever holds
   * a stolen session would lock its owner out), and the admin's own password, checked as a
   * sign-in is, within the same guessing limits (a stolen session alone is not enough).
   */
  async reset(ctx: RequestContext & { log?: RefusalLog; cookies?: CookieJar }, uid: string, input: { newPassword: string; currentPassword: string }): Promise<{ sessionsEnded: number }> {
    const { newPassword } = input;
    if (!ctx.actor.isAdmin) throw forbidden("Only a tenant admin can reset a user's password. To change your own, use PATCH /v1/users/password/change.");
    if (ctx.actor.apiKeyUid) throw forbidden("A password reset needs a person's session: sign in with your password; an API key cannot reset passwords.");
    if (uid === ctx.actor.userUid) throw forbidden('You cannot reset your own password. Change it with PATCH /v1/users/password/change, which asks for the current one.');
    const user = await this.store.users.findByUid(uid);
    if (!user || user.tenantUid !== ctx.actor.tenantUid) throw notFound(`User ${uid}`);
    // A password would let the account sign in, which a service account never does. Refused
    // before the admin's own password is checked: it is no guess, and spends none.
    if (user.kind === 'service') {
      throw badRequest(`${user.email} is a service account: service accounts have no password and never sign in. Give it API keys instead.`, { field: 'newPassword' });
    }
    checkNewPassword(newPassword, user.email, 'newPassword');
    await this.checkOwnPassword(ctx, input.currentPassword);
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

  /** The acting admin's own password, as a guess within the sign-in limits of their account. */
  private async checkOwnPassword(ctx: RequestContext & { log?: RefusalLog; cookies?: CookieJar }, password: string): Promise<void> {
    const { guard, refusals } = this.opts.auth;
    const admin = await this.store.users.findByUid(ctx.actor.userUid);
    const email = admin?.email ?? ctx.actor.email;
    const outcome = await guard.attempt<true>(
      email,
      ctx.address,
      async () => ((await verifyPassword(password, passwordHashOf(admin))) && admin ? { ok: true, value: true } : { ok: false }),
      this.opts.auth.knownDevice(admin, ctx.cookies),
    );
    if (outcome.ok) return;
    const reason = outcome.refused === 'wrong' ? 'wrong-password' : 'rate-limited';
    await refusals.record({ action: 'user.passwordResetRefused', user: admin, email, address: ctx.address, reason }, ctx.log);
    if (outcome.refused !== 'wrong') throw outcome.error;
    throw new KeywardError('Unauthorized', 'Your password is incorrect: a password reset asks for your own password.', { details: { field: 'currentPassword' } });
  }
}
