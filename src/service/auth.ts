/** Sign-in, session tokens, and turning a credential into a principal. */
import { KeywardError } from '../domain/errors.js';
import { isTenantAdmin, type Principal } from '../domain/model.js';
import type { Verification } from '../domain/verification.js';
import type { Store } from '../store/store.js';
import type { UserWithPassword } from '../store/users.js';
import { auditEntry } from './context.js';
import { verifyPassword } from './passwords.js';
import { TokenIssuer } from './tokens.js';
import type { KeyVerifier } from './verifier.js';

export interface SignInLimits {
  /** Failed sign-ins allowed per account, and per address, within `windowMs`. */
  perAccount: number;
  perAddress: number;
  windowMs: number;
}

export const defaultSignInLimits: SignInLimits = { perAccount: 10, perAddress: 50, windowMs: 15 * 60 * 1000 };

const invalidCredentials = () => new KeywardError('Unauthorized', 'The email or password is incorrect.');

export class AuthService {
  readonly tokens: TokenIssuer;

  constructor(
    private readonly store: Store,
    private readonly opts: { secret: string; now: () => number; signInLimits: SignInLimits; verifier: KeyVerifier },
  ) {
    this.tokens = new TokenIssuer(opts.secret, opts.now);
  }

  toPrincipal(user: UserWithPassword): Principal {
    return { userUid: user.uid, tenantUid: user.tenantUid, email: user.email, isAdmin: isTenantAdmin(user.roles) };
  }

  /** `POST /v1/auth/authenticate`: a token for a correct email and password, within the limits. */
  async authenticate(emailId: string, password: string, address: string): Promise<{ token: string; principal: Principal }> {
    const email = emailId.trim().toLowerCase();
    const now = this.opts.now();
    const user = await this.store.users.findByEmail(email);
    const tenantUid = user?.tenantUid ?? null;
    const failure = (reason: string) =>
      auditEntry({ address }, now, 'auth.signInFailed', { kind: 'user', uid: user?.uid ?? null, name: email, ownerUid: user?.uid ?? null }, { reason }, tenantUid);

    const retryAfter = await this.lockedFor(email, address, now);
    if (retryAfter > 0) {
      await this.store.audits.insert(failure('rate-limited'));
      throw new KeywardError('TooManyRequests', `Too many failed sign-ins. Try again in ${retryAfter} seconds.`, { retryAfter });
    }
    // verifyPassword spends the same time whether or not the account exists.
    const ok = await verifyPassword(password, user?.passwordHash);
    if (!ok || !user) {
      await this.store.transaction(async (tx) => {
        await tx.signInFailures.record(email, address, now);
        await tx.audits.insert(failure(user ? 'wrong-password' : 'unknown-account'));
      });
      throw invalidCredentials();
    }
    await this.store.users.recordSignIn(user.uid, now);
    await this.store.signInFailures.clearEmail(email);
    const principal = this.toPrincipal(user);
    return { token: this.tokens.issue({ sub: user.uid, tid: user.tenantUid }), principal };
  }

  /** Seconds until another attempt is allowed for this account or address; 0 when allowed now. */
  private async lockedFor(email: string, address: string, now: number): Promise<number> {
    const { perAccount, perAddress, windowMs } = this.opts.signInLimits;
    const since = now - windowMs;
    const checks = [
      [await this.store.signInFailures.since('email', email, since), perAccount],
      [await this.store.signInFailures.since('address', address, since), perAddress],
    ] as const;
    let wait = 0;
    for (const [{ count, oldest }, limit] of checks) {
      if (count >= limit && oldest !== null) wait = Math.max(wait, Math.ceil((oldest + windowMs - now) / 1000));
    }
    return Math.max(wait, 0);
  }

  /** A session token's principal and issue time, or undefined when it is invalid, expired or its user is gone. */
  async session(token: string): Promise<{ principal: Principal; issuedAt: number } | undefined> {
    const claims = this.tokens.check(token);
    if (!claims) return undefined;
    const user = await this.store.users.findByUid(claims.sub);
    if (!user || user.tenantUid !== claims.tid) return undefined;
    return { principal: this.toPrincipal(user), issuedAt: claims.issuedAt ?? 0 };
  }

  async principalFromToken(token: string): Promise<Principal | undefined> {
    return (await this.session(token))?.principal;
  }

  /** `GET /v1/auth/refresh/{token}`: a fresh token for a valid one. */
  async refresh(token: string): Promise<string> {
    const principal = await this.principalFromToken(token);
    if (!principal) throw new KeywardError('Unauthorized', 'The token is invalid or has expired. Sign in again.');
    return this.tokens.issue({ sub: principal.userUid, tid: principal.tenantUid });
  }

  /** Verifies a presented API key (see verifier.ts). */
  verifyKey(candidate: string): Promise<Verification> {
    return this.opts.verifier.verify(candidate);
  }
}
