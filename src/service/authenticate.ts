/**
 * Authenticating a request: the one use case that turns a presented credential into a principal,
 * or into a refusal given as a code from the error registry (after Unkey's key service: verdicts
 * are values, infrastructure failures are thrown). The request hook, `GET /v1/auth/check`,
 * `GET /v1/auth/refresh/{token}` and `POST /v1/apiKeys/verify` all come here, so they cannot
 * disagree, and the two side effects of authenticating happen here and nowhere else:
 *   - failure counting: a refusal counts against the client address's guessing budget, and once
 *     the address is past it, its refusals become `TooManyRequests`;
 *   - last-used recording: a key that authenticates is recorded as used.
 *
 * A blocked address still has its credential checked, and a valid one still gets through: one
 * address is often many people (a NAT, an office proxy), and one of them guessing must not lock
 * the others out. The check stays cheap for what a flood sends: a key with a bad checksum is
 * refused before any hashing or lookup, a forged token at its signature, and a known key is a
 * cache hit. The trade-off: a key with a valid checksum that is not cached (anyone can compute a
 * CRC32) costs a blocked address one indexed read, as it costs any address. That read is what one
 * valid key costs anyway, and a 190-bit key cannot be guessed, so the block does not guard the
 * keys; it keeps a flood from costing a database write per request (a blocked address's failures
 * are not counted) and tells the flooding client to back off.
 *
 * Which credential a request carries, the CSRF check of a cookie and the cookie's renewal are
 * transport, and stay in the HTTP layer (http/credentials.ts).
 */
import type { ErrorCode } from '../domain/errors.js';
import type { Principal } from '../domain/model.js';
import type { Requirement } from '../domain/scopeExpression.js';
import type { KeyWithPrincipal, Verification, VerifyFailure } from '../domain/verification.js';
import type { LiveSession } from './auth.js';
import type { FailureLimiter } from './failureLimiter.js';
import type { LastUsedRecorder } from './lastUsed.js';
import type { KeyVerifier } from './verifier.js';

/**
 * The credential a request presented, as the HTTP layer found it: one of them, or none. Should
 * more than one be given, an API key wins over a token and a token over the cookie, as Palette's
 * SDK assumes.
 */
export interface Presented {
  apiKey?: string;
  token?: string;
  cookie?: string;
}

export interface AuthContext {
  /** The client's address: refusals count against its guessing budget. */
  address: string;
  /**
   * Whether a refusal counts against `address` (default true). `POST /v1/apiKeys/verify` passes
   * false: its caller is already authenticated and relays other people's keys, so their typos
   * and revoked keys say nothing about the caller, and counting them would turn a busy service's
   * honest NOT_FOUND answers into TooManyRequests for every key it relays.
   */
  countFailures?: boolean;
  /**
   * Only a key of this tenant authenticates; another tenant's key is refused exactly as one that
   * does not exist (`Unauthorized`, nothing found, no use recorded). Verify's callers see only
   * their own tenant's keys.
   */
  tenantUid?: string;
  /**
   * What an API key must hold to be admitted (a route's scope, verify's `require`, forward-auth's
   * expression and route rule). Sessions are not asked: a person has their role's full power.
   */
  require?: Requirement;
  /**
   * The address a key's allowlist is checked against, when it is not `address` (verify checks
   * the relayed `clientAddress`, not its caller's). `null`: nobody can vouch for where the key
   * came from, so a key with an allowlist is refused (fail closed). Default: `address`.
   */
  allowlistAddress?: string | null;
}

/** What an authenticated API key is, for the caller (forward-auth headers, verify's answer). */
export type AuthenticatedKey = KeyWithPrincipal['key'];

export interface KeyAuthenticated {
  ok: true;
  principal: Principal;
  key: AuthenticatedKey;
  session?: undefined;
  // Issue 12: a previous secret within its grace authenticates with a deprecation notice here
  // (the end of its grace), for the Deprecation/Sunset headers and verify's `deprecated`.
}

export interface SessionAuthenticated {
  ok: true;
  principal: Principal;
  session: LiveSession;
  key?: undefined;
}

/** Refusals, as codes of the one error registry (src/domain/errors.ts). */
export type AuthFailureCode = Extract<ErrorCode, 'Unauthorized' | 'ApiKeyInactive' | 'ApiKeyExpired' | 'TooManyRequests' | 'Forbidden'>;

/** Why a good key was refused with `Forbidden`. */
export type ForbiddenReason = 'insufficient_scope' | 'address_not_allowed';

export interface AuthRefused {
  ok: false;
  code: AuthFailureCode;
  /** Seconds until the address may try again: set with `TooManyRequests`. */
  retryAfter?: number;
  /**
   * The key's record, where a key was found but refused (revoked, expired, used from outside its
   * allowlist, short of a scope): verify reports whose it is. Never an identity to act as.
   */
  found?: KeyWithPrincipal;
  /** With `Forbidden`: which of the key's limits refused it. Such refusals are not guesses and are never counted. */
  reason?: ForbiddenReason;
  /** With reason `insufficient_scope`: the scopes the key lacks (`Requirement.missing`), never empty. */
  missing?: readonly string[];
}

export type AuthOutcome<Success = KeyAuthenticated | SessionAuthenticated> = Success | AuthRefused;

/**
 * An outcome now, or a promise of one. A cached key, a bad shape, or no credential at all needs no
 * I/O, and is answered without a promise: this runs on every request.
 */
export type MaybePromise<T> = T | Promise<T>;

const KEY_REFUSALS: Record<VerifyFailure, AuthFailureCode> = {
  // A wrong key and an unknown key read the same.
  NOT_FOUND: 'Unauthorized',
  INACTIVE: 'ApiKeyInactive',
  EXPIRED: 'ApiKeyExpired',
};

const UNAUTHORIZED: AuthRefused = Object.freeze({ ok: false, code: 'Unauthorized' }) as AuthRefused;

export interface AuthenticatorDeps {
  verifier: KeyVerifier;
  /** The live session a token names (AuthService.session). */
  sessions: { session(token: string): Promise<LiveSession | undefined> };
  failures: FailureLimiter;
  lastUsed: LastUsedRecorder;
  now: () => number;
}

export class Authenticator {
  constructor(private readonly deps: AuthenticatorDeps) {}

  authenticate(presented: { apiKey: string }, context: AuthContext): MaybePromise<AuthOutcome<KeyAuthenticated>>;
  authenticate(presented: { token: string } | { cookie: string }, context: AuthContext): MaybePromise<AuthOutcome<SessionAuthenticated>>;
  authenticate(presented: Presented, context: AuthContext): MaybePromise<AuthOutcome>;
  authenticate(presented: Presented, context: AuthContext): MaybePromise<AuthOutcome> {
    const counted = context.countFailures !== false;
    // Read before the check, so that the failure which reaches the budget is still answered as
    // itself, and only the ones after it are refused as too many.
    const retryAfter = counted ? this.deps.failures.blockedFor(context.address) : 0;
    const outcome = this.check(presented, context);
    return outcome instanceof Promise
      ? outcome.then((o) => this.count(o, counted, retryAfter, context.address))
      : this.count(outcome, counted, retryAfter, context.address);
  }

  private count(outcome: AuthOutcome, counted: boolean, retryAfter: number, address: string): MaybePromise<AuthOutcome> {
    // A key refused for its scopes or its address is a good key: the holder is not guessing, and
    // a blocked address is not told to back off for using a real key outside its limits.
    if (outcome.ok || !counted || outcome.code === 'Forbidden') return outcome;
    if (retryAfter > 0) return { ok: false, code: 'TooManyRequests', retryAfter };
    return this.deps.failures.fail(address).then(() => outcome);
  }

  private check(presented: Presented, context: AuthContext): MaybePromise<AuthOutcome> {
    if (presented.apiKey !== undefined) {
      const v = this.deps.verifier.verify(presented.apiKey);
      return v instanceof Promise ? v.then((found) => this.keyOutcome(found, context)) : this.keyOutcome(v, context);
    }
    const token = presented.token ?? presented.cookie;
    if (token !== undefined) return this.session(token);
    return UNAUTHORIZED;
  }

  private keyOutcome(v: Verification, context: AuthContext): AuthOutcome {
    if (!v.ok) {
      if (!v.key || (context.tenantUid !== undefined && v.principal!.tenantUid !== context.tenantUid)) return UNAUTHORIZED;
      // Issue 12: a retired previous secret is refused here as ApiKeyRotated (counted like any refusal).
      return { ok: false, code: KEY_REFUSALS[v.code], found: { key: v.key, principal: v.principal! } };
    }
    if (context.tenantUid !== undefined && v.principal.tenantUid !== context.tenantUid) return UNAUTHORIZED;
    // The key's own limits, once it is known to be good: its allowlist first (a key used from
    // elsewhere may do nothing at all), then what the caller requires of it. Both refuse with
    // 403s, which are not guesses and are not counted (see count). A key with `*` and no
    // allowlist (every Palette client's) costs one property read and one `missing` call here.
    const { key } = v;
    if (key.allowlist !== undefined) {
      const address = context.allowlistAddress === undefined ? context.address : context.allowlistAddress;
      if (address === null || !key.allowlist.allows(address)) {
        return { ok: false, code: 'Forbidden', reason: 'address_not_allowed', found: { key, principal: v.principal } };
      }
    }
    if (context.require !== undefined) {
      const missing = context.require.missing(key.scopes);
      if (missing.length > 0) return { ok: false, code: 'Forbidden', reason: 'insufficient_scope', missing, found: { key, principal: v.principal } };
    }
    this.deps.lastUsed.record(v.key.uid, this.deps.now());
    // The verification itself is the success: it has the shape, and no copy is made on the hot path.
    return v;
  }

  private async session(token: string): Promise<AuthOutcome> {
    const session = await this.deps.sessions.session(token);
    return session ? { ok: true, principal: session.principal, session } : UNAUTHORIZED;
  }
}
