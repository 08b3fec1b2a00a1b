/**
 * Session tokens: HS256 JWTs signed with a key derived from the server secret, valid for
 * 15 minutes, carrying the user's uid, the tenant uid and the session they belong to. The
 * session and its user are looked up on every use (see AuthService.session), so logout, a
 * password change or deleting the user ends a token at once, and role changes apply at once.
 */
import { createHmac } from 'node:crypto';
import { createSigner, createVerifier } from 'fast-jwt';

export const TOKEN_LIFETIME_MS = 15 * 60 * 1000;
/**
 * A session ends this long after sign-in, however often its token is refreshed or its cookie
 * renewed: a stolen token cannot be kept alive forever, and a working day needs one sign-in.
 */
export const SESSION_LIFETIME_MS = 12 * 60 * 60 * 1000;

export interface TokenClaims {
  sub: string;
  tid: string;
  /** The session's uid. */
  sid: string;
}

export interface CheckedToken extends TokenClaims {
  /** When the token was issued, epoch ms. */
  issuedAt: number;
}

export class TokenIssuer {
  private readonly sign: (payload: object) => string;
  private readonly verify: (token: string) => Record<string, unknown>;

  constructor(
    secret: string,
    private readonly now: () => number,
  ) {
    // A separate key from the one that hashes API keys, so neither use can stand in for the other.
    const key = createHmac('sha256', secret).update('keyward-session-token').digest();
    // Times come from the injected clock: `iat` and `exp` are put in the payload here (fast-jwt
    // keeps a given `iat`; its `noTimestamp` would drop it, and with it the token's age) and
    // checked in `check`, not by fast-jwt's own clock.
    this.sign = createSigner({ key, algorithm: 'HS256' });
    this.verify = createVerifier({ key, algorithms: ['HS256'], ignoreExpiration: true, cache: false });
  }

  /** A token for the session, valid 15 minutes and never past `sessionExpiresAt`. */
  issue(claims: TokenClaims, sessionExpiresAt: number): string {
    const iat = Math.floor(this.now() / 1000);
    const exp = Math.min(iat + TOKEN_LIFETIME_MS / 1000, Math.floor(sessionExpiresAt / 1000));
    return this.sign({ sub: claims.sub, tid: claims.tid, sid: claims.sid, iat, exp });
  }

  /**
   * The claims of a well-signed, unexpired token, or undefined. With `allowExpired`, an expired
   * one's too: logout ends the session a stale token names.
   */
  check(token: string, opts: { allowExpired?: boolean } = {}): CheckedToken | undefined {
    let claims: Record<string, unknown>;
    try {
      claims = this.verify(token);
    } catch {
      return undefined;
    }
    const { sub, tid, sid, iat, exp } = claims;
    if (typeof sub !== 'string' || typeof tid !== 'string' || typeof sid !== 'string') return undefined;
    // A token without its issue time reads as brand new forever (its cookie would never be
    // renewed, or always be): refuse it rather than guess.
    if (typeof iat !== 'number' || typeof exp !== 'number') return undefined;
    if (!opts.allowExpired && exp * 1000 <= this.now()) return undefined;
    return { sub, tid, sid, issuedAt: iat * 1000 };
  }
}
