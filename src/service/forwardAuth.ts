/**
 * What forward-auth (`GET /v1/auth/check`) decides about a good key beyond the key itself: the
 * tenant's route rules (authRoutes.ts), matched against the original request that the proxy
 * names (`X-Original-Method`, `X-Original-URI`).
 *
 * The key, its allowlist and the proxy's own `?require=` are the authenticator's (authenticate.ts),
 * checked before this and always enforced. The rules come after, and a request passes only if
 * they allow every way a server could read it:
 * - every reading of the path (domain/requestPath.ts, a security boundary): the normalised one
 *   and, where they differ, the literal one with empty and dot segments kept and the readings of
 *   servers mixing the two, since nginx forwards the raw URI and routers such as Fastify and
 *   Express route `..` and empty segments as names;
 * - every method: X-Original-Method and any method override the request carries
 *   (X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override, a `_method` query parameter),
 *   since a server honouring one runs a POST as a DELETE.
 * For each (reading, method) the first matching rule says which scopes the key needs; no rule
 * matching falls to the tenant's default. The refusal reported is the first found, reading A
 * and the original method first. In `audit` mode a refusal by the rules is logged and counted in
 * the audit log (observedRefusals.ts) and the request passes: the way to try rules on live
 * traffic before enforcing them.
 */
import { maskCredentials } from '../domain/credentialShapes.js';
import type { Principal } from '../domain/model.js';
import { type PathReadings, requestPathReadings } from '../domain/requestPath.js';
import { type CompiledRoutes, TOO_COMPLEX } from '../domain/routeRules.js';
import type { AuthRouteService } from './authRoutes.js';
import type { ObservedRefusals } from './observedRefusals.js';

/** Why the rules refused a request (sent as X-Keyward-Reason). */
export type RouteRefusalReason = 'route_denied' | 'insufficient_scope' | 'invalid_path' | 'invalid_method';

export interface RouteRefusal {
  reason: RouteRefusalReason;
  /** The index of the rule that refused, or null where none decided (default deny, an unreadable request). */
  rule: number | null;
  /** With insufficient_scope: what the key lacks for the rule. */
  missing?: readonly string[];
  method: string | undefined;
  /** The reading of the path that was refused, as text (`/a/../b` for a literal reading). */
  path: string | undefined;
  /** With invalid_path: the rules were too costly to match against this path (routeRules.ts, TOO_COMPLEX). */
  tooComplex?: true;
}

/** The original request, as the proxy names it. */
export interface OriginalRequest {
  method: string | undefined;
  uri: string | undefined;
  /**
   * The values of the method-override headers the proxy passed (X-HTTP-Method-Override,
   * X-HTTP-Method, X-Method-Override), absent ones left out. The `_method` query parameter is
   * read from `uri` here.
   */
  methodOverrides?: readonly string[];
}

export type RouteVerdict =
  /** Passes; `observed`: refused by rules in audit mode, let through. */
  | { ok: true; observed?: RouteRefusal }
  | { ok: false; refusal: RouteRefusal };

const PASS: RouteVerdict = Object.freeze({ ok: true });

/** An HTTP method name as a proxy sends it: letters, `-` and `_`, at most 32. */
const METHOD = /^[A-Za-z_-]{1,32}$/;

/** `method` in any case, or a `%` that could spell it (`_%6Dethod`): only then is the query parsed. */
const MAY_NAME_METHOD = /method|%/i;

/**
 * Every `_method` value in the query of `uri` (servers differ on first or last: all are checked).
 * Names are compared decoded and in any case: query parsers decode names (`_%6Dethod`,
 * `%5Fmethod` are `_method` to Express's qs), and a case-insensitive one reads `_METHOD` too.
 */
function methodParameters(uri: string): string[] {
  const q = uri.indexOf('?');
  if (q < 0 || !MAY_NAME_METHOD.test(uri.slice(q + 1))) return [];
  const values: string[] = [];
  for (const [name, value] of new URLSearchParams(uri.slice(q + 1))) if (name.toLowerCase() === '_method') values.push(value);
  return values;
}

/**
 * The methods a server might run `original` as: its method, then each override, upper case,
 * once each; undefined when one of them is not a method name (an override that cannot be read
 * is refused, not ignored: the server might read it).
 */
function methodsOf(original: OriginalRequest, uri: string): string[] | undefined {
  const { method } = original;
  if (method === undefined || !METHOD.test(method)) return undefined;
  const methods = [method.toUpperCase()];
  const overrides = original.methodOverrides ?? [];
  const params = methodParameters(uri);
  for (const value of params.length === 0 ? overrides : [...overrides, ...params]) {
    if (!METHOD.test(value)) return undefined;
    const upper = value.toUpperCase();
    if (!methods.includes(upper)) methods.push(upper);
  }
  return methods;
}

/**
 * A reading as a refusal reports it (the 403, the audit-mode warning, the audit entry): a secret in
 * the path (a capability URL, a token in a callback path, a key pasted into a URL) masked, as the
 * request log masks it. Matching uses the path itself.
 */
const pathText = (segments: readonly string[]) => maskCredentials(`/${segments.join('/')}`);

/**
 * What the rules say of `original` for a key holding `scopes`: undefined when they let every
 * (reading, method) through, else the first refusal. Pure: the mode is the caller's.
 */
export function routeRefusal(routes: CompiledRoutes, original: OriginalRequest, scopes: readonly string[]): RouteRefusal | undefined {
  // No rules and default allow: nothing to match, so nothing about the request matters (a proxy
  // that sends neither header still works, as it did before route rules).
  if (routes.isEmpty && routes.rules.default === 'allow') return undefined;
  const { uri } = original;
  const readings: PathReadings | undefined = uri === undefined ? undefined : requestPathReadings(uri);
  // A request the rules cannot read is refused, not guessed at: a rule for /admin must not be
  // missed because the path was spelled so that it could not be resolved, nor a GET-only rule
  // because the method was not sent.
  if (readings === undefined || uri === undefined) return { reason: 'invalid_path', rule: null, method: original.method, path: undefined };
  const methods = methodsOf(original, uri);
  if (methods === undefined) return { reason: 'invalid_method', rule: null, method: undefined, path: pathText(readings[0]) };
  for (const segments of readings) {
    const matches = routes.matchSegmentsEach(methods, segments);
    if (matches === TOO_COMPLEX) return { reason: 'invalid_path', rule: null, method: methods[0], path: pathText(segments), tooComplex: true };
    for (let i = 0; i < methods.length; i++) {
      const method = methods[i];
      const match = matches[i];
      if (match === undefined) {
        if (routes.rules.default === 'deny') return { reason: 'route_denied', rule: null, method, path: pathText(segments) };
        continue;
      }
      const missing = match.requirement.missing(scopes);
      if (missing.length > 0) return { reason: 'insufficient_scope', rule: match.index, missing, method, path: pathText(segments) };
    }
  }
  return undefined;
}

export class ForwardAuth {
  constructor(
    private readonly routes: AuthRouteService,
    private readonly observed: ObservedRefusals,
  ) {}

  /**
   * The verdict of the tenant's rules on `original`, for a good key: at once when the tenant's
   * rules are cached. `warn` is told of each refusal observed in audit mode.
   */
  check(
    principal: Principal,
    scopes: readonly string[],
    original: OriginalRequest,
    address: string,
    warn?: (refusal: RouteRefusal) => void,
  ): RouteVerdict | Promise<RouteVerdict> {
    const routes = this.routes.compiled(principal.tenantUid);
    return routes instanceof Promise
      ? routes.then((r) => this.verdict(r, principal, scopes, original, address, warn))
      : this.verdict(routes, principal, scopes, original, address, warn);
  }

  private verdict(routes: CompiledRoutes, principal: Principal, scopes: readonly string[], original: OriginalRequest, address: string, warn?: (refusal: RouteRefusal) => void): RouteVerdict {
    const refusal = routeRefusal(routes, original, scopes);
    if (refusal === undefined) return PASS;
    if (routes.rules.mode === 'enforce') return { ok: false, refusal };
    warn?.(refusal);
    this.observed.record({ principal, address, ...refusal });
    return { ok: true, observed: refusal };
  }
}
