/**
 * What forward-auth (`GET /v1/auth/check`) decides about a good key beyond the key itself: the
 * tenant's route rules (authRoutes.ts), matched against the original request that the proxy
 * names (`X-Original-Method`, `X-Original-URI`).
 *
 * The key, its allowlist and the proxy's own `?require=` are the authenticator's (authenticate.ts),
 * checked before this and always enforced. The rules come after: the first rule matching the
 * method and the normalised path (domain/requestPath.ts, a security boundary) says which scopes
 * the key needs; no rule matching falls to the tenant's default. In `audit` mode a refusal by the
 * rules is logged and counted in the audit log (observedRefusals.ts) and the request passes: the
 * way to try rules on live traffic before enforcing them.
 */
import { maskCredentials } from '../domain/credentialShapes.js';
import type { Principal } from '../domain/model.js';
import { normaliseRequestPath } from '../domain/requestPath.js';
import type { CompiledRoutes } from '../domain/routeRules.js';
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
  /** The normalised path, with anything shaped like a secret masked: it is reported, never matched again. */
  path: string | undefined;
}

/** The original request, as the proxy names it. */
export interface OriginalRequest {
  method: string | undefined;
  uri: string | undefined;
}

export type RouteVerdict =
  /** Passes; `observed`: refused by rules in audit mode, let through. */
  | { ok: true; observed?: RouteRefusal }
  | { ok: false; refusal: RouteRefusal };

const PASS: RouteVerdict = Object.freeze({ ok: true });

/** An HTTP method name as a proxy sends it: letters, `-` and `_`, at most 32. */
const METHOD = /^[A-Za-z_-]{1,32}$/;

/**
 * What the rules say of `original` for a key holding `scopes`: undefined when they let it
 * through, else why not. Pure: the mode is the caller's.
 */
export function routeRefusal(routes: CompiledRoutes, original: OriginalRequest, scopes: readonly string[]): RouteRefusal | undefined {
  // No rules and default allow: nothing to match, so nothing about the request matters (a proxy
  // that sends neither header still works, as it did before route rules).
  if (routes.isEmpty && routes.rules.default === 'allow') return undefined;
  const { method, uri } = original;
  const path = uri === undefined ? undefined : normaliseRequestPath(uri);
  // A request the rules cannot read is refused, not guessed at: a rule for /admin must not be
  // missed because the path was spelled so that it could not be resolved, nor a GET-only rule
  // because the method was not sent.
  if (path === undefined) return { reason: 'invalid_path', rule: null, method, path: undefined };
  // The path as a refusal reports it (the 403, the warning, the audit entry): a secret in it (a
  // capability URL, a token in a callback path, a key pasted into a URL) masked, as the request
  // log masks it. Matching uses the path itself.
  if (method === undefined || !METHOD.test(method)) return { reason: 'invalid_method', rule: null, method: undefined, path: maskCredentials(path) };
  const match = routes.match(method, path);
  if (match === undefined) return routes.rules.default === 'deny' ? { reason: 'route_denied', rule: null, method, path: maskCredentials(path) } : undefined;
  const missing = match.requirement.missing(scopes);
  return missing.length === 0 ? undefined : { reason: 'insufficient_scope', rule: match.index, missing, method, path: maskCredentials(path) };
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
