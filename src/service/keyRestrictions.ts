/**
 * What a key may be given: its scopes and its allowed addresses, checked for shape (400), against
 * the caller's own key (403: a key never hands out more than it holds) and against the tenant's
 * catalogue (400: a scope nobody defined is a typo, not a grant). Used by key creation and update.
 */
import { cidrWithin, parseCidr } from '../domain/cidrs.js';
import { badRequest, KeywardError } from '../domain/errors.js';
import { limits } from '../domain/limits.js';
import type { Principal } from '../domain/model.js';
import { BUILT_IN_SCOPES, grants, quotedNames as quoted, scopeNameProblem, scopeResource, scopesPhrase, uncovered } from '../domain/scopes.js';
import type { Repositories } from '../store/store.js';

const SCOPES_FIELD = 'spec.scopes';
const CIDRS_FIELD = 'spec.allowedCidrs';
const BUILT_IN_NAMES = new Set(BUILT_IN_SCOPES.map((s) => s.name));
const BUILT_IN_RESOURCES = new Set(BUILT_IN_SCOPES.map((s) => scopeResource(s.name)!));


/** Valid scope names, without repeats, in the order given. */
export function checkScopes(scopes: readonly unknown[]): string[] {
  const max = limits.apiKey.scopes.maxItems;
  if (scopes.length > max) throw badRequest(`${SCOPES_FIELD} holds at most ${max} scopes.`, { field: SCOPES_FIELD, max });
  const out: string[] = [];
  for (const name of scopes) {
    if (typeof name !== 'string') throw badRequest(`${SCOPES_FIELD} must be a list of scope names.`, { field: SCOPES_FIELD });
    const problem = scopeNameProblem(name);
    if (problem) throw badRequest(`${SCOPES_FIELD}: ${problem}`, { field: SCOPES_FIELD, scope: name });
    if (!out.includes(name)) out.push(name);
  }
  return out;
}

/** Normalised CIDRs (domain/cidrs.ts), without repeats, in the order given. */
export function checkCidrs(cidrs: readonly unknown[]): string[] {
  const max = limits.apiKey.allowedCidrs.maxItems;
  if (cidrs.length > max) throw badRequest(`${CIDRS_FIELD} holds at most ${max} networks.`, { field: CIDRS_FIELD, max });
  const out: string[] = [];
  for (const text of cidrs) {
    if (typeof text !== 'string') throw badRequest(`${CIDRS_FIELD} must be a list of IPv4 or IPv6 networks (CIDRs).`, { field: CIDRS_FIELD });
    let cidr: string;
    try {
      cidr = parseCidr(text);
    } catch (err) {
      if (err instanceof KeywardError) throw badRequest(`${CIDRS_FIELD}: ${err.message}`, { ...err.details, field: CIDRS_FIELD, cidr: text });
      throw err;
    }
    if (!out.includes(cidr)) out.push(cidr);
  }
  return out;
}

/**
 * Refuses (403) scopes or addresses that a caller authenticated by a key may not hand out: every
 * requested scope must be covered by the caller key's own, and the requested addresses must lie
 * inside the caller key's allowlist (no list, meaning any address, only from a key without one).
 * A session (a person) may give any scopes and addresses to the keys they manage.
 */
export function checkHandOut(actor: Principal, requested: { scopes?: readonly string[]; cidrs?: readonly string[] }): void {
  if (actor.scopes === undefined) return;
  if (requested.scopes !== undefined) {
    const beyond = uncovered(actor.scopes, requested.scopes);
    if (beyond.length > 0) {
      throw new KeywardError(
        'Forbidden',
        `This API key cannot give a key ${scopesPhrase(beyond)}: ` +
          `a key can hand out only scopes it holds itself (it holds ${quoted(actor.scopes) || 'none'}). Send ${SCOPES_FIELD} within them, or sign in.`,
        { details: { field: SCOPES_FIELD, missingScope: beyond[0], missing: beyond } },
      );
    }
  }
  const own = actor.allowlist;
  if (requested.cidrs !== undefined && own !== undefined) {
    if (requested.cidrs.length === 0) {
      throw new KeywardError(
        'Forbidden',
        `This API key may be used only from ${own.cidrs.join(', ')}, so a key it creates or changes must be limited to addresses inside those: send ${CIDRS_FIELD}.`,
        { details: { field: CIDRS_FIELD, reason: 'address_not_allowed', allowed: own.cidrs } },
      );
    }
    const outside = requested.cidrs.filter((c) => !own.cidrs.some((outer) => cidrWithin(c, outer)));
    if (outside.length > 0) {
      throw new KeywardError(
        'Forbidden',
        `${quoted(outside)} ${outside.length === 1 ? 'is' : 'are'} not inside this API key's own allowed addresses (${own.cidrs.join(', ')}); ` +
          'a key can hand out only addresses it may be used from itself.',
        { details: { field: CIDRS_FIELD, reason: 'address_not_allowed', outside, allowed: own.cidrs } },
      );
    }
  }
}

/**
 * Refuses (403) bringing back, or keeping alive for longer, a key that may do more than the
 * caller key itself: re-activating a revoked key, extending a key's expiry. Its holder may well
 * have the old key's secret (that is often why it was revoked, or made short-lived), so this
 * would hand out the wider key's power as surely as creating it would. Sessions (people) may.
 */
export function checkMayRevive(actor: Principal, key: { scopes: readonly string[]; allowedCidrs: readonly string[] }, action: string): void {
  if (actor.scopes === undefined) return;
  const beyond = uncovered(actor.scopes, key.scopes);
  const own = actor.allowlist;
  const outside =
    own === undefined ? [] : key.allowedCidrs.length === 0 ? ['any address'] : key.allowedCidrs.filter((c) => !own.cidrs.some((outer) => cidrWithin(c, outer)));
  if (beyond.length === 0 && outside.length === 0) return;
  const why =
    beyond.length > 0
      ? `it holds ${scopesPhrase(beyond)}, which this key does not`
      : `it may be used from ${outside.join(', ')}, outside this key's own allowed addresses (${own!.cidrs.join(', ')})`;
  throw new KeywardError('Forbidden', `This API key cannot ${action} that key: ${why}. A key can keep alive only keys within its own scopes and addresses; sign in to do it.`, {
    details:
      beyond.length > 0
        ? { reason: 'insufficient_scope', missingScope: beyond[0], missing: beyond }
        : { reason: 'address_not_allowed', outside, allowed: own!.cidrs },
  });
}

/**
 * Refuses (403) what hands out a person's sign-in with a role's full power (a user created with a
 * password, the tenant-admin role given), unless the caller key holds `*`: a session has every
 * power of its role, so a key narrower than that would otherwise widen itself to everything by
 * making, or promoting, an account its holder can sign in to. Sessions (people) may.
 */
export function checkFullPower(actor: Principal, action: string): void {
  if (actor.scopes === undefined || grants(actor.scopes, '*')) return;
  throw new KeywardError(
    'Forbidden',
    `This API key cannot ${action}: that gives a sign-in with every power of its role, which needs the scope "*" (it holds ${quoted(actor.scopes) || 'none'}). Sign in to do it.`,
    { details: { reason: 'insufficient_scope', missingScope: '*', missing: ['*'] } },
  );
}

/**
 * Refuses (400) scopes the tenant does not know: not built in, not in its catalogue (`res:*` is
 * known when some known scope has resource `res`; `*` always is). Inside a transaction, the
 * catalogue entries relied on stay locked until commit (see TenantScopeRepository.existing).
 */
export async function checkKnownScopes(repos: Repositories, tenantUid: string, scopes: readonly string[]): Promise<void> {
  const exact = scopes.filter((s) => s !== '*' && !s.endsWith(':*') && !BUILT_IN_NAMES.has(s));
  const found = await repos.tenantScopes.existing(tenantUid, exact);
  const unknown = exact.filter((s) => !found.has(s));
  for (const s of scopes) {
    if (!s.endsWith(':*') || s === '*') continue;
    const resource = scopeResource(s)!;
    if (!BUILT_IN_RESOURCES.has(resource) && !(await repos.tenantScopes.hasResource(tenantUid, resource))) unknown.push(s);
  }
  if (unknown.length > 0) {
    throw badRequest(
      `${SCOPES_FIELD}: ${scopesPhrase(unknown)} ${unknown.length === 1 ? 'is' : 'are'} unknown. ` +
        'Use a built-in scope or one of your tenant\'s (GET /v1/scopes), or have a tenant admin add it (PUT /v1/scopes/{name}).',
      { field: SCOPES_FIELD, unknown },
    );
  }
}

/** Whether a key whose networks go from `before` to `after` may now be used from an address it could not be before. */
export function opensAddresses(before: readonly string[], after: readonly string[]): boolean {
  if (before.length === 0) return false;
  return after.length === 0 || after.some((c) => !before.some((outer) => cidrWithin(c, outer)));
}

/** Same members, in any order. */
export const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));
