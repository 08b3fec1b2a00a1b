/**
 * `GET /v1/auth/check`: forward authentication for reverse proxies (nginx auth_request, Traefik
 * ForwardAuth, Envoy). In order:
 *   1. the key (401 without a good one; a guessing address still gets 401, see refuseCheck);
 *   2. its address allowlist, against the client's address (request.ip: the socket's, or the
 *      proxy's X-Forwarded-For with KEYWARD_TRUST_PROXY), then the proxy's own `?require=`:
 *      403 `address_not_allowed` / `insufficient_scope`, always enforced;
 *   3. the tenant's route rules on X-Original-Method (and any method override) and X-Original-URI,
 *      every reading of its path (service/forwardAuth.ts):
 *      403 `route_denied`, `insufficient_scope`, `invalid_path` or `invalid_method`, or in audit
 *      mode logged, audited and let through.
 * 200 carries the key's owner, tenant, uid and scopes in X-Keyward-* headers for the proxy to
 * hand on; every 403 carries X-Keyward-Reason, since nginx passes on only 2xx, 401 and 403 and
 * its error pages can read a header but not a body.
 *
 * Written callback-free and promise-free where it can be: a cached key and cached rules are
 * answered without a promise, as GET /v1/users/info is.
 */
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { KeywardError } from '../../domain/errors.js';
import { limits } from '../../domain/limits.js';
import type { CompiledRoutes } from '../../domain/routeRules.js';
import { type Requirement, requirement } from '../../domain/scopeExpression.js';
import { scopesPhrase } from '../../domain/scopes.js';
import type { AuthOutcome, AuthRefused, KeyAuthenticated } from '../../service/authenticate.js';
import { type OriginalRequest, type RouteRefusal, type RouteVerdict, routeRefusal } from '../../service/forwardAuth.js';
import type { Services } from '../../service/services.js';
import { insufficientScope, presentedApiKey, refusal, tooManyFailuresMessage } from '../credentials.js';
import { errorResponses } from '../schemas.js';

const str = { type: 'string' } as const;

/**
 * A guessing address refused by the forward-auth check. Still a 401, with Retry-After: nginx's
 * auth_request turns any answer but 2xx, 401 and 403 into a 500 for the client.
 */
const refuseCheck = (retryAfter: number) =>
  new KeywardError('Unauthorized', tooManyFailuresMessage(retryAfter), { retryAfter, details: { reason: 'TooManyRequests' } });

/** One header's value as a string (a repeated header is refused as unreadable: it names no one request). */
function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Method-override headers: a server honouring one runs a POST as the method it names, so the
 * rules are checked for those methods too (forwardAuth.ts). nginx passes them only where its
 * check location sets them (see the README's configuration).
 */
const METHOD_OVERRIDE_HEADERS = ['x-http-method-override', 'x-http-method', 'x-method-override'] as const;

/** The override headers' values; a repeated one joined, so that it reads as no method and is refused. */
function methodOverrides(request: FastifyRequest): string[] | undefined {
  let found: string[] | undefined;
  for (const name of METHOD_OVERRIDE_HEADERS) {
    const value = request.headers[name];
    if (value === undefined) continue;
    (found ??= []).push(typeof value === 'string' ? value : value.join(', '));
  }
  return found;
}

/** The 403 for a route-rule refusal, in words naming what to change. */
function routeRefusalError(r: RouteRefusal): KeywardError {
  const target = r.method !== undefined && r.path !== undefined ? `${r.method} ${r.path}` : 'this request';
  const details: Record<string, unknown> = { reason: r.reason, rule: r.rule };
  let message: string;
  switch (r.reason) {
    case 'route_denied':
      message = `No route rule of this tenant lets a key reach ${target}, and the tenant's default is deny.`;
      break;
    case 'insufficient_scope':
      message = `This API key does not hold ${scopesPhrase(r.missing ?? [])}, which route rule ${r.rule} requires for ${target}.`;
      details.missing = r.missing;
      details.missingScope = r.missing?.[0];
      break;
    case 'invalid_path':
      message = r.tooComplex
        ? `This tenant's route rules keep too many wildcard ("**") matches alive at once to be applied to ${target}; simplify overlapping "**" rules.`
        : 'The original request path (X-Original-URI) is missing, or cannot be read safely, so the route rules cannot be applied to it.';
      if (r.tooComplex) details.tooComplex = true;
      break;
    case 'invalid_method':
      message =
        'The original request method (X-Original-Method) is missing or is not an HTTP method, or a method override ' +
        '(X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override, a _method query parameter) is not one, so the route rules cannot be applied to it.';
      break;
  }
  return new KeywardError('Forbidden', message, { details });
}

export function forwardAuthCheck(untyped: FastifyInstance, services: Services): void {
  const app = untyped.withTypeProvider<JsonSchemaToTsProvider>();
  const { authenticator, authRoutes, forwardAuth } = services;

  /** Sends a 403 with X-Keyward-Reason. */
  const forbid = (reply: FastifyReply, err: KeywardError): never => {
    reply.header('x-keyward-reason', String(err.details.reason));
    throw err;
  };

  /**
   * A key short of `?require=`: refused, naming with it what the tenant's matching rule would
   * also want (the check is `?require=` AND the rule), so one answer lists everything missing.
   */
  const shortOfQuery = (request: FastifyRequest, reply: FastifyReply, outcome: AuthRefused, original: OriginalRequest): never | Promise<never> => {
    const err = refusal(outcome, { apiKey: '' }, request.ip);
    const { found } = outcome;
    if (found === undefined) return forbid(reply, err);
    const withRule = (routes: CompiledRoutes): never => {
      const byRule = routes.rules.mode === 'enforce' ? routeRefusal(routes, original, found.key.scopes) : undefined;
      if (byRule?.reason !== 'insufficient_scope' || byRule.missing === undefined) return forbid(reply, err);
      const missing = [...(outcome.missing ?? [])];
      for (const s of byRule.missing) if (!missing.includes(s)) missing.push(s);
      return forbid(reply, insufficientScope(missing));
    };
    const routes = authRoutes.compiled(found.principal.tenantUid);
    return routes instanceof Promise ? routes.then(withRule) : withRule(routes);
  };

  app.get(
    '/v1/auth/check',
    {
      schema: {
        tags: ['auth'],
        summary: "Forward-auth check of the request's ApiKey header, for reverse proxies",
        description:
          '`require`: scope names joined by AND / OR (with parentheses) that the key must hold, on top of the tenant\'s route rules, which are ' +
          'matched against X-Original-Method and X-Original-URI. 200 carries X-Keyward-User, -Tenant, -Key and -Scopes; 401 means no valid key; ' +
          '403 carries X-Keyward-Reason: insufficient_scope, address_not_allowed, route_denied, invalid_path or invalid_method.',
        querystring: { type: 'object', properties: { require: { type: 'string', ...limits.requirement } } },
        response: {
          200: { type: 'object', properties: { userUid: str, tenantUid: str, keyUid: str, scopes: { type: 'array', items: str } } },
          ...errorResponses,
        },
      },
    },
    (request, reply) => {
      const apiKey = presentedApiKey(request);
      if (apiKey === undefined) throw new KeywardError('Unauthorized', 'Send the API key in the ApiKey header.');
      const text = request.query.require;
      // Memoised: an nginx location sends the same expression on every request. A bad one is the
      // proxy's configuration, refused with 400 (nginx shows a 500, and logs why).
      const require: Requirement | undefined = text === undefined || text.trim() === '' ? undefined : requirement(text);
      const original: OriginalRequest = {
        method: header(request, 'x-original-method'),
        uri: header(request, 'x-original-uri'),
        methodOverrides: methodOverrides(request),
      };

      const admitted = (outcome: AuthOutcome<KeyAuthenticated>) => {
        if (!outcome.ok) {
          if (outcome.code === 'TooManyRequests') throw refuseCheck(outcome.retryAfter ?? 1);
          if (outcome.code === 'Forbidden') {
            return outcome.reason === 'insufficient_scope' ? shortOfQuery(request, reply, outcome, original) : forbid(reply, refusal(outcome, { apiKey }, request.ip));
          }
          throw refusal(outcome, { apiKey });
        }
        const { principal, key } = outcome;
        const answer = (verdict: RouteVerdict) => {
          if (!verdict.ok) return forbid(reply, routeRefusalError(verdict.refusal));
          reply
            .header('x-keyward-user', principal.userUid)
            .header('x-keyward-tenant', principal.tenantUid)
            .header('x-keyward-key', key.uid)
            .header('x-keyward-scopes', key.scopes.join(','));
          return { userUid: principal.userUid, tenantUid: principal.tenantUid, keyUid: key.uid, scopes: key.scopes };
        };
        const verdict = forwardAuth.check(principal, key.scopes, original, request.ip, (r) =>
          request.log.warn(
            { reqId: request.id, event: 'authRoute.refusalObserved', tenantUid: principal.tenantUid, keyUid: key.uid, reason: r.reason, rule: r.rule, method: r.method, path: r.path, missing: r.missing },
            'route rules in audit mode would refuse this request: let through',
          ),
        );
        return verdict instanceof Promise ? verdict.then(answer) : answer(verdict);
      };

      const outcome = authenticator.authenticate({ apiKey }, { address: request.ip, require });
      return outcome instanceof Promise ? outcome.then(admitted) : admitted(outcome);
    },
  );
}
