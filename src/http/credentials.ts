/**
 * Turns a request's credential into a principal. An API key (the `ApiKey` header in any case,
 * or `?ApiKey=`) wins over a session token (`Authorization`, raw or `Bearer`), as Palette's SDK
 * assumes; the console's session cookie comes last. Routes opt in with `onRequest: app.authenticate`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { KeywardError } from '../domain/errors.js';
import type { Principal } from '../domain/model.js';
import type { VerifyFailure } from '../domain/verification.js';
import type { RequestContext } from '../service/context.js';
import type { FailureLimiter } from '../service/failureLimiter.js';
import type { Services } from '../service/services.js';
import { checkCsrf, clearSessionCookies, RENEW_AFTER_MS, SESSION_COOKIE, setSessionCookies } from './session.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyInstance {
    authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
}

const KEY_FAILURES: Record<VerifyFailure, () => KeywardError> = {
  NOT_FOUND: () => new KeywardError('Unauthorized', 'The API key is not valid.'),
  INACTIVE: () => new KeywardError('ApiKeyInactive'),
  EXPIRED: () => new KeywardError('ApiKeyExpired'),
};

/** The 401 for a key that failed verification; a wrong key and an unknown key read the same. */
export const keyFailure = (code: VerifyFailure) => KEY_FAILURES[code]();

/**
 * The presented API key, from the header or, as Palette allows, the query string. An empty one
 * is no key at all: clients and proxies that template `ApiKey: $KEY` send it empty when unset,
 * and it must not stand in the way of the token sent beside it.
 */
export function presentedApiKey(request: FastifyRequest): string | undefined {
  const header = request.headers.apikey;
  if (typeof header === 'string' && header.trim() !== '') return header.trim();
  if (Array.isArray(header)) return header.join(',');
  const query = request.query as Record<string, unknown> | undefined;
  if (query && typeof query === 'object') {
    for (const name of Object.keys(query)) {
      if (name.toLowerCase() === 'apikey') {
        const value = query[name];
        const key = typeof value === 'string' ? value : String(value);
        if (key.trim() !== '') return key;
      }
    }
  }
  return undefined;
}

export function presentedToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || header.trim() === '') return undefined;
  const value = header.trim();
  return /^bearer\s+/i.test(value) ? value.replace(/^bearer\s+/i, '') : value;
}

export function context(request: FastifyRequest): RequestContext {
  if (!request.principal) throw new KeywardError('Unauthorized');
  return { actor: request.principal, address: request.ip };
}

/**
 * Runs `attempt` under the request address's guessing budget: a 401 from `attempt` counts
 * against the address, and once the address is past its budget its failures are answered with
 * `refuse(retryAfter)` instead, and no longer counted.
 *
 * A blocked address still has its credential checked, and a valid one still gets through: one
 * address is often many people (a NAT, an office proxy), and one of them guessing must not lock
 * the others out. The check stays cheap for what a flood sends: a key with a bad checksum is
 * refused before any hashing or lookup, a forged token at its signature, and a known key is a
 * cache hit. The trade-off: a key with a valid checksum that is not cached (anyone can compute
 * a CRC32) now costs a blocked address one indexed read, as it costs any address; before, the
 * block refused it without one. That read is what one valid key costs anyway, and a 190-bit
 * key cannot be guessed, so the block no longer guards the keys; it keeps a flood from costing
 * a database write per request (a blocked address's failures are not counted) and tells the
 * flooding client to back off.
 */
export async function limitFailures<T>(
  limiter: FailureLimiter,
  request: FastifyRequest,
  attempt: () => Promise<T>,
  refuse: (retryAfter: number) => KeywardError,
): Promise<T> {
  const retryAfter = limiter.blockedFor(request.ip);
  try {
    return await attempt();
  } catch (err) {
    if (err instanceof KeywardError && err.status === 401) {
      if (retryAfter > 0) throw refuse(retryAfter);
      await limiter.fail(request.ip);
    }
    throw err;
  }
}

export const tooManyFailuresMessage = (retryAfter: number) =>
  `Too many requests with invalid credentials from your address. Try again in ${retryAfter} seconds.`;

export const tooManyFailures = (retryAfter: number) => new KeywardError('TooManyRequests', tooManyFailuresMessage(retryAfter), { retryAfter });

export const credentials = fp(async (app: FastifyInstance, opts: { services: Services }) => {
  const { auth, lastUsed, now, credentialFailures } = opts.services;
  app.decorateRequest('principal', null);
  app.decorate('authenticate', (request: FastifyRequest, reply: FastifyReply) =>
    limitFailures(credentialFailures, request, () => resolvePrincipal(request, reply), tooManyFailures),
  );

  async function resolvePrincipal(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const key = presentedApiKey(request);
    if (key !== undefined) {
      const result = await auth.verifyKey(key);
      if (!result.ok) throw keyFailure(result.code);
      lastUsed.record(result.key.uid, now());
      request.principal = result.principal;
      return;
    }
    const token = presentedToken(request);
    if (token !== undefined) {
      const principal = await auth.principalFromToken(token);
      if (!principal) throw new KeywardError('Unauthorized', 'The session token is invalid or has expired. Sign in again.');
      request.principal = principal;
      return;
    }
    const cookie = request.cookies[SESSION_COOKIE];
    if (cookie) {
      checkCsrf(request);
      const session = await auth.session(cookie);
      if (!session) {
        clearSessionCookies(reply);
        throw new KeywardError('Unauthorized', 'Your session has expired. Sign in again.', { details: { session: 'expired' } });
      }
      request.principal = session.principal;
      // Keep a working person signed in: renew the cookie once its token is a few minutes old
      // (not on every request: a Set-Cookie on every answer is a write for nothing).
      if (now() - session.issuedAt > RENEW_AFTER_MS) setSessionCookies(request, reply, auth.renew(session));
      return;
    }
    throw new KeywardError('Unauthorized', 'Send an ApiKey header or an Authorization token from POST /v1/auth/authenticate.');
  }
});
