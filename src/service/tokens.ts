/**
 * Session tokens: HS256 JWTs signed with a key derived from the server secret, valid for
 * 15 minutes, carrying only the user's uid and tenant uid. The user is looked up on every use,
 * so a deleted user's tokens stop working at once and role changes apply at once.
 */
import { createHmac } from 'node:crypto';
import { createSigner, createVerifier } from 'fast-jwt';

export const TOKEN_LIFETIME_MS = 15 * 60 * 1000;

export interface TokenClaims {
  sub: string;
  tid: string;
  /** When the token was issued, epoch ms (set by `check`). */
  issuedAt?: number;
}

export class TokenIssuer {
  private readonly sign: (payload: object) => string;
  private readonly verify: (token: string) => TokenClaims & { exp: number };

  constructor(secret: string, now: () => number) {
    // A separate key from the one that hashes API keys, so neither use can stand in for the other.
    const key = createHmac('sha256', secret).update('keyward-session-token').digest();
    // Times are set and checked here, from the injected clock, rather than by fast-jwt's own.
    this.sign = createSigner({ key, algorithm: 'HS256', noTimestamp: true });
    this.verify = createVerifier({ key, algorithms: ['HS256'], ignoreExpiration: true, cache: false });
    this.now = now;
  }

  private readonly now: () => number;

  issue(claims: TokenClaims): string {
    const iat = Math.floor(this.now() / 1000);
    return this.sign({ sub: claims.sub, tid: claims.tid, iat, exp: iat + TOKEN_LIFETIME_MS / 1000 });
  }

  /** The claims of a valid, unexpired token, or undefined. */
  check(token: string): TokenClaims | undefined {
    try {
      const claims = this.verify(token);
      if (typeof claims.sub !== 'string' || typeof claims.tid !== 'string') return undefined;
      if (typeof claims.exp !== 'number' || claims.exp * 1000 <= this.now()) return undefined;
      return { sub: claims.sub, tid: claims.tid, issuedAt: typeof (claims as any).iat === 'number' ? (claims as any).iat * 1000 : 0 };
    } catch {
      return undefined;
    }
  }
}
