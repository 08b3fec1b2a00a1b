/**
 * Scope names and what a set of them grants.
 *
 * A scope is `*` (everything), `resource:action`, or `resource:*` (every action on resource).
 * There are no implied scopes (apiKeys:write does not imply apiKeys:read): what a key holds is
 * exactly what it may do, which a reader of the key can predict without a table.
 */
import { limits } from './limits.js';

export const BUILT_IN_SCOPES: readonly { name: string; description: string }[] = Object.freeze([
  { name: 'apiKeys:read', description: 'List and read API keys.' },
  { name: 'apiKeys:write', description: 'Create, change, revoke and delete API keys.' },
  { name: 'apiKeys:rotateSelf', description: 'Rotate the API key presented with the request.' },
  { name: 'apiKeys:reportLeaks', description: 'Report API keys found exposed, so they are revoked.' },
  { name: 'users:read', description: 'List and read users.' },
  { name: 'users:write', description: 'Create, change and delete users (a password or the tenant-admin role also needs *).' },
  { name: 'audits:read', description: 'Read the audit log.' },
  { name: 'keys:verify', description: 'Verify API keys presented to another service.' },
].map((s) => Object.freeze(s)));

/** The "Full access" preset. */
export const FULL_ACCESS: readonly string[] = Object.freeze(['*']);
/** The "Read only" preset. */
export const READ_ONLY_SCOPES: readonly string[] = Object.freeze(['apiKeys:read', 'users:read', 'audits:read']);

/** True for the characters of a resource or action: A-Z a-z 0-9 _ . - */
function isNameChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x5f || // _
    c === 0x2e || // .
    c === 0x2d // -
  );
}

function partProblem(part: string, what: string): string | undefined {
  if (part.length === 0) return `its ${what} is empty`;
  for (let i = 0; i < part.length; i++) {
    if (!isNameChar(part.charCodeAt(i))) return `its ${what} contains ${JSON.stringify(part[i])}; use only letters, digits, '_', '.' and '-'`;
  }
  return undefined;
}

/** Why `name` is not a valid scope name (for a message), or undefined when it is one. */
export function scopeNameProblem(name: string): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'A scope name must not be empty.';
  const max = limits.scope.name.maxLength;
  if (name.length > max) return `A scope name is at most ${max} characters; this one has ${name.length}.`;
  if (name === '*') return undefined;
  const colon = name.indexOf(':');
  if (colon < 0) return `Scope "${name}" is not of the form resource:action (or resource:* or *).`;
  if (name.indexOf(':', colon + 1) >= 0) return `Scope "${name}" has more than one ':'; the form is resource:action.`;
  const resourceProblem = partProblem(name.slice(0, colon), 'resource');
  if (resourceProblem) return `Scope "${name}" is not valid: ${resourceProblem}.`;
  const action = name.slice(colon + 1);
  if (action === '*') return undefined;
  const actionProblem = partProblem(action, 'action');
  if (actionProblem) return `Scope "${name}" is not valid: ${actionProblem}${action.includes('*') ? " (a wildcard is the whole action: 'resource:*')" : ''}.`;
  return undefined;
}

/** The resource of a scope name (`apiKeys` of `apiKeys:read` or `apiKeys:*`); undefined for `*` or a name without one. */
export function scopeResource(name: string): string | undefined {
  const colon = name.indexOf(':');
  return colon > 0 ? name.slice(0, colon) : undefined;
}

/** True when `scope` is of the form `resource:*` for `resource`. */
function isResourceWildcard(scope: string, resource: string): boolean {
  return scope.length === resource.length + 2 && scope.endsWith(':*') && scope.startsWith(resource);
}

/**
 * Whether holding `held` grants `needed`: `*` grants everything, `res:*` grants every `res:x`
 * (and `res:*` itself), otherwise only the exact name. `needed` = `*` is granted only by `*`.
 */
export function grants(held: readonly string[], needed: string): boolean {
  for (let i = 0; i < held.length; i++) {
    const h = held[i];
    if (h === '*' || h === needed) return true;
  }
  if (needed === '*') return false;
  const colon = needed.indexOf(':');
  if (colon <= 0) return false;
  const resource = needed.slice(0, colon);
  for (let i = 0; i < held.length; i++) if (isResourceWildcard(held[i], resource)) return true;
  return false;
}

/**
 * The requested scopes a holder of `held` may not hand out (to a key it creates or changes), in
 * the order requested, without duplicates: requested `*` needs held `*`; requested `res:*` needs
 * `*` or `res:*`; requested `res:x` needs anything that grants it. Empty = may hand them all out.
 */
export function uncovered(held: readonly string[], requested: readonly string[]): string[] {
  const out: string[] = [];
  for (const r of requested) {
    // grants() already gives exactly the escalation rule: `res:*` is granted only by `*` or
    // `res:*` itself, and `*` only by `*`.
    if (!grants(held, r) && !out.includes(r)) out.push(r);
  }
  return out;
}

/** Names for a message, each in quotes: `"a", "b"` (scopes, or networks beside them). */
export const quotedNames = (names: readonly string[]) => names.map((n) => `"${n}"`).join(', ');

/** `the scope "a"` or `the scopes "a", "b"`, for messages. */
export const scopesPhrase = (names: readonly string[]) => `${names.length === 1 ? 'the scope' : 'the scopes'} ${quotedNames(names)}`;
