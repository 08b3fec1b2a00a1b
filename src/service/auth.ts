/** Sign-in, sessions and their tokens. Authenticating a request with them is authenticate.ts's. */
import { KeywardError } from '../domain/errors.js';
import { isTenantAdmin, type Principal } from '../domain/model.js';
import type { Store } from '../store/store.js';
import type { UserWithPassword } from '../store/users.js';
import { auditEntry, newUid } from './context.js';
import { DeviceCookies } from './deviceCookies.js';
import { passwordHashOf, verifyPassword } from './passwords.js';
import { RefusalAudit, type RefusalLog } from './refusalAudit.js';
import { SignInGuard, type SignInLimits } from './signInGuard.js';
import { SESSION_LIFETIME_MS, TokenIssuer } from './tokens.js';

export { defaultSignInLimits, type SignInLimits } from './signInGuard.js';

/** The request's cookies, by name: where a known device's cookie is looked for. */
export type CookieJar = (name: string) => string | undefined;

/** A device cookie to set: the browser is now known to this account (see deviceCookies.ts). */
export interface DeviceCookie {
  name: string;
  value: string;
}

const invalidCredentials = () => new KeywardError('Unauthorized', 'The email or password is incorrect.');

/** A live session, as a token or cookie presents it. */
export interface LiveSession {
  principal: Principal;
  sessionUid: string;
  /** When the presented token was issued, epoch ms. */
  issuedAt: number;
  /** When the session ends, whatever is refreshed. */
  expiresAt: number;
}

const userResource = (u: { uid: string; email: string }) => ({ kind: 'user', uid: u.uid, name: u.email, ownerUid: u.uid });

export class AuthService {
  readonly tokens: TokenIssuer;
  /** The guessing limits; password changes go through them too. */
  readonly guard: SignInGuard;
  readonly refusals: RefusalAudit;
  readonly devices: DeviceCookies;

  constructor(
    private readonly store: Store,
    private readonly opts: { secret: string; now: () => number; signInLimits: SignInLimits; onError?: (err: unknown) => void },
  ) {
    this.tokens = new TokenIssuer(opts.secret, opts.now);
    this.guard = new SignInGuard(store, { limits: opts.signInLimits, now: opts.now });
    this.devices = new DeviceCookies(opts.secret);
    this.refusals = new RefusalAudit(store, { secret: opts.secret, now: opts.now, onError: opts.onError });
  }

  toPrincipal(user: UserWithPassword): Principal {
    return { userUid: user.uid, tenantUid: user.tenantUid, email: user.email, isAdmin: isTenantAdmin(user.roles) };
  }

  /**
   * `POST /v1/auth/authenticate`: a new session, and its token, for a correct email and
   * password within the guessing limits (see signInGuard.ts).
   */
  async authenticate(
    emailId: string,
    password: string,
    address: string,
    log?: RefusalLog,
    cookies?: CookieJar,
  ): Promise<{ token: string; principal: Principal; device: DeviceCookie }> {
    const email = emailId.trim().toLowerCase();
    const user = await this.store.users.findByEmail(email);
    const device = this.knownDevice(user, cookies);
    const outcome = await this.guard.attempt<UserWithPassword>(
      email,
      address,
      async () => {
        // verifyPassword spends the same time whether or not the account exists, and whether or
        // not it has a password (a service account has none, and is refused as a wrong password).
        const ok = await verifyPassword(password, passwordHashOf(user));
        return ok && user ? { ok: true, value: user } : { ok: false };
      },
      device,
    );
    if (!outcome.ok) {
      const reason = outcome.refused === 'wrong' ? 'wrong-password' : 'rate-limited';
      await this.refusals.record({ action: 'auth.signInFailed', user, email, address, reason }, log);
      throw outcome.refused === 'wrong' ? invalidCredentials() : outcome.error;
    }
    const now = this.opts.now();
    const principal = this.toPrincipal(outcome.value);
    const session = { uid: newUid(), userUid: principal.userUid, createdAt: now, expiresAt: now + SESSION_LIFETIME_MS };
    await this.store.transaction(async (tx) => {
      await tx.sessions.insert(session);
      await tx.users.recordSignIn(principal.userUid, now);
      await tx.audits.insert(auditEntry({ actor: principal, address }, now, 'auth.signIn', userResource(outcome.value), { session: session.uid }));
    });
    const token = this.tokens.issue({ sub: principal.userUid, tid: principal.tenantUid, sid: session.uid }, session.expiresAt);
    return { token, principal, device: { name: this.devices.name(principal.userUid), value: this.devices.issue(principal.userUid, device) } };
  }

  /** The id of the device cookie `cookies` hold for `user`'s account, when it holds a valid one. */
  knownDevice(user: { uid: string } | undefined, cookies: CookieJar | undefined): string | undefined {
    if (!user || !cookies) return undefined;
    return this.devices.verify(cookies(this.devices.name(user.uid)), user.uid);
  }

  /**
   * The live session a token (or the cookie holding one) belongs to, or undefined when the token
   * is invalid or expired, or its session has ended, or its user is gone.
   */
  async session(token: string): Promise<LiveSession | undefined> {
    const claims = this.tokens.check(token);
    if (!claims) return undefined;
    const found = await this.store.sessions.findWithUser(claims.sid);
    if (!found) return undefined;
    const { session, user } = found;
    if (user.uid !== claims.sub || user.tenantUid !== claims.tid || session.expiresAt <= this.opts.now()) return undefined;
    return { principal: this.toPrincipal(user), sessionUid: session.uid, issuedAt: claims.issuedAt, expiresAt: session.expiresAt };
  }

  /** A fresh token for a live session (the console's cookie renewal). */
  renew(s: LiveSession): string {
    return this.tokens.issue({ sub: s.principal.userUid, tid: s.principal.tenantUid, sid: s.sessionUid }, s.expiresAt);
  }

  /**
   * `GET /v1/auth/refresh/{token}`: a fresh token for the same session, which the token has
   * authenticated (see authenticate.ts: a bad token is a credential failure like any other).
   */
  async refresh(s: LiveSession, address: string): Promise<string> {
    const now = this.opts.now();
    await this.store.audits.insert(auditEntry({ actor: s.principal, address }, now, 'auth.refresh', userResource({ uid: s.principal.userUid, email: s.principal.email }), { session: s.sessionUid }));
    return this.renew(s);
  }

  /**
   * `POST /v1/auth/logout`: ends the session a token names, even an expired token's (its
   * session may still be live through a refreshed one). Anything else ends nothing.
   */
  async logout(token: string, address: string): Promise<boolean> {
    const claims = this.tokens.check(token, { allowExpired: true });
    if (!claims) return false;
    const found = await this.store.sessions.findWithUser(claims.sid);
    if (!found || found.user.uid !== claims.sub) return false;
    const now = this.opts.now();
    const principal = this.toPrincipal(found.user);
    return this.store.transaction(async (tx) => {
      if (!(await tx.sessions.delete(claims.sid, claims.sub))) return false;
      await tx.audits.insert(auditEntry({ actor: principal, address }, now, 'auth.logout', userResource(found.user), { session: claims.sid }));
      return true;
    });
  }
}
