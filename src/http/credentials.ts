/**
 * Which credential a request presents, and the request hook that authenticates it through the one
 * authenticate use case (service/authenticate.ts). An API key (the `ApiKey` header in any case,
 * or `?ApiKey=`) wins over a session token (`Authorization`, raw or `Bearer`), as Palette's SDK
 * assumes; the console's session cookie comes last. The cookie's CSRF check and its renewal are
 * transport, so they are here. Routes opt in with `onRequest: app.authenticate`, and every such
 * route says which scope an API key needs for it, with `config: { scope: 'resource:action' }`, or
 * `scope: null` for none (GET /v1/users/info). A route that says neither does not start: a
 * forgotten decision must not quietly mean "any key". The requirement is built once, when the
 * route is registered, and the hook of that route carries it: a request pays no lookup for it.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, onRequestHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { KeywardError } from '../domain/errors.js';
import type { Principal } from '../domain/model.js';
import { type Requirement, requirement } from '../domain/scopeExpression.js';
import { scopesPhrase } from '../domain/scopes.js';
import type { AuthOutcome, AuthRefused, Presented } from '../service/authenticate.js';
import type { RequestContext } from '../service/context.js';
import type { Services } from '../service/services.js';
import { checkCsrf, clearSessionCookies, cookiesOf, RENEW_AFTER_MS, SESSION_COOKIE, setSessionCookies } from './session.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyInstance {
    /** The onRequest hook of every authenticated route: sets request.principal, or refuses. */
    authenticate: onRequestHookHandler;
    /**
     * Every authenticated route (`METHOD /url`) and the scope a key needs for it (null: none), as
     * registered: the test of scope decisions reads it.
     */
    routeScopes: Map<string, string | null>;
  }
  interface FastifyContextConfig {
    /**
     * On a route with `onRequest: app.authenticate`: the scope an API key must hold for it
     * (design-11's table), or null when it needs none. Sessions are not asked.
     */
    scope?: string | null;
  }
}

/**
 * The presented API key, from the header or, as Palette allows, the query string. An empty one
 * is no key at all: clients and proxies that template `ApiKey: $KEY` send it empty when unset,
 * and it must not stand in the way of the token sent beside it.
 */
export function presentedApiKey(request: FastifyRequest): string | undefined {
  const header = request.headers.apikey;
  if (typeof header === 'string' && header.trim() !== '') return header.trim();
  if (Array.isArray(header)) return header.join(',');
  // Every route's query, whatever its schema: read as the plain object the query parser makes.
  const query: unknown = request.query;
  if (typeof query === 'object' && query !== null) {
    for (const [name, value] of Object.entries(query)) {
      if (name.toLowerCase() === 'apikey') {
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

export const tooManyFailuresMessage = (retryAfter: number) =>
  `Too many requests with invalid credentials from your address. Try again in ${retryAfter} seconds.`;

export const tooManyFailures = (retryAfter: number) => new KeywardError('TooManyRequests', tooManyFailuresMessage(retryAfter), { retryAfter });

/** The credential the request presents: the first of API key, token and session cookie. */
export function presentedCredential(request: FastifyRequest): Presented {
  const apiKey = presentedApiKey(request);
  if (apiKey !== undefined) return { apiKey };
  const token = presentedToken(request);
  if (token !== undefined) return { token };
  const cookie = cookiesOf(request)[SESSION_COOKIE];
  return cookie ? { cookie } : {};
}

/** The 403 of a key short of what a request needs, naming every scope it lacks (`missing`, never empty). */
export const insufficientScope = (missing: readonly string[]) =>
  new KeywardError('Forbidden', `This API key does not hold ${scopesPhrase(missing)}, which this request needs.`, {
    details: { reason: 'insufficient_scope', missingScope: missing[0], missing },
  });

/**
 * The error for a refusal, in words for the credential refused. A wrong key and an unknown key
 * read the same. `address`: the client's, named when a key's allowlist refused it.
 */
export function refusal(outcome: AuthRefused, presented: Presented, address?: string): KeywardError {
  if (outcome.code === 'TooManyRequests') return tooManyFailures(outcome.retryAfter ?? 1);
  if (outcome.code === 'Forbidden') {
    if (outcome.reason === 'address_not_allowed') {
      const from = address === undefined ? 'from this address' : `from your address (${address})`;
      return new KeywardError('Forbidden', `This API key may not be used ${from}: its owner limited it to other addresses.`, {
        details: { reason: 'address_not_allowed' },
      });
    }
    return insufficientScope(outcome.missing ?? []);
  }
  if (outcome.code !== 'Unauthorized') return new KeywardError(outcome.code);
  if (presented.apiKey !== undefined) return new KeywardError('Unauthorized', 'The API key is not valid.');
  if (presented.token !== undefined) return new KeywardError('Unauthorized', 'The session token is invalid or has expired. Sign in again.');
  if (presented.cookie !== undefined) return new KeywardError('Unauthorized', 'Your session has expired. Sign in again.', { details: { session: 'expired' } });
  return new KeywardError('Unauthorized', 'Send an ApiKey header or an Authorization token from POST /v1/auth/authenticate.');
}

export const credentials = fp(async (app: FastifyInstance, opts: { services: Services }) => {
  const { auth, authenticator, now } = opts.services;
  app.decorateRequest('principal', null);

  /** The hook of a route whose keys must meet `require` (undefined: no scope needed). */
  function authenticating(require: Requirement | undefined): onRequestHookHandler {
    // Callback-style, and answered without a promise where authenticate needs no I/O (a cached
    // key): this runs on every authenticated request.
    return function authenticate(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
      const presented = presentedCredential(request);
      if (presented.cookie !== undefined) checkCsrf(request);
      const outcome = authenticator.authenticate(presented, { address: request.ip, require });
      if (outcome instanceof Promise) outcome.then((o) => done(admit(request, reply, presented, o)), done);
      else done(admit(request, reply, presented, outcome));
    };
  }

  const authenticate = authenticating(undefined);
  app.decorate('authenticate', authenticate);
  const routeScopes = new Map<string, string | null>();
  app.decorate('routeScopes', routeScopes);

  // Each authenticated route gets a hook of its own, carrying its scope's requirement.
  app.addHook('onRoute', (route) => {
    const hooks = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    const at = hooks.indexOf(authenticate);
    if (at < 0) return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const scope = route.config?.scope;
    if (scope === undefined) {
      throw new Error(
        `${methods.join(',')} ${route.url}: an authenticated route must say which scope an API key needs for it ` +
          "(config: { scope: 'resource:action' }), or that it needs none (config: { scope: null }).",
      );
    }
    const replaced = [...hooks];
    replaced[at] = scope === null ? authenticate : authenticating(requirement(scope));
    route.onRequest = replaced;
    for (const method of methods) routeScopes.set(`${method} ${route.url}`, scope);
  });

  /** Sets the principal, or gives the refusal to answer with. Never throws: `done` is called with its result, once. */
  function admit(request: FastifyRequest, reply: FastifyReply, presented: Presented, outcome: AuthOutcome): FastifyError | undefined {
    try {
      const cookie = presented.cookie !== undefined;
      if (!outcome.ok) {
        if (cookie) clearSessionCookies(reply);
        return refusal(outcome, presented, request.ip) as FastifyError;
      }
      request.principal = outcome.principal;
      // Keep a working person signed in: renew the cookie once its token is a few minutes old
      // (not on every request: a Set-Cookie on every answer is a write for nothing).
      if (cookie && outcome.session && now() - outcome.session.issuedAt > RENEW_AFTER_MS) setSessionCookies(request, reply, auth.renew(outcome.session));
      return undefined;
    } catch (err) {
      return err as FastifyError;
    }
  }
});
