/**
 * The scope catalogue: Keyward's built-in scopes and a tenant's own, for the services behind
 * Keyward (GET /v1/scopes, PUT and DELETE /v1/scopes/{name}). A key may hold only scopes the
 * catalogue knows (service/keyRestrictions.ts), and a scope a key holds cannot leave it, so
 * enforcement never meets a scope that was deleted under it and needs no event for changes here.
 */
import { badRequest, conflict, forbidden, notFound } from '../domain/errors.js';
import { limits, textRange } from '../domain/limits.js';
import { BUILT_IN_SCOPES, scopeNameProblem, scopeResource } from '../domain/scopes.js';
import type { Store } from '../store/store.js';
import { auditEntry, type RequestContext } from './context.js';
import { checkText } from './validate.js';

export interface CatalogueScope {
  name: string;
  description: string;
  builtIn: boolean;
}

const DESCRIPTION = { ...textRange(limits.scope.description), multiline: true };
const BUILT_IN_NAMES = new Set(BUILT_IN_SCOPES.map((s) => s.name));
// In lower case: a tenant resource that differs from Keyward's only in case (`ApiKeys`) would
// pass for it in a list of scopes.
const BUILT_IN_RESOURCES = new Set(BUILT_IN_SCOPES.map((s) => scopeResource(s.name)!.toLowerCase()));
const BUILT_IN_VIEW: readonly CatalogueScope[] = BUILT_IN_SCOPES.map((s) => ({ name: s.name, description: s.description, builtIn: true }));
const scopeResourceOf = (name: string) => ({ kind: 'scope', uid: null, name, ownerUid: null });

/**
 * Built-in names answer 409: the request is well formed, but the scope exists and is Keyward's
 * own, fixed in code; no tenant can redefine or remove what Keyward's endpoints check.
 */
const builtInConflict = (name: string) =>
  conflict(`"${name}" is one of Keyward's built-in scopes; it cannot be changed or deleted.`, { name, builtIn: true });

export class ScopeService {
  constructor(
    private readonly store: Store,
    private readonly opts: { now: () => number },
  ) {}

  /** Built-in scopes first (in their documented order), then the tenant's by name. Any signed-in caller. */
  async list(ctx: RequestContext): Promise<CatalogueScope[]> {
    const own = await this.store.tenantScopes.list(ctx.actor.tenantUid);
    return [...BUILT_IN_VIEW, ...own.map((s) => ({ name: s.name, description: s.description, builtIn: false }))];
  }

  /** Creates the tenant scope, or changes its description. Tenant admins (a key needs `*`: the route says so). */
  async put(ctx: RequestContext, name: string, input: { description?: string }): Promise<{ scope: CatalogueScope; created: boolean }> {
    this.mustBeAdmin(ctx);
    this.checkName(name);
    const description = checkText(input.description ?? '', 'description', DESCRIPTION);
    const now = this.opts.now();
    const tenantUid = ctx.actor.tenantUid;
    const created = await this.store.transaction(async (tx) => {
      const existing = await tx.tenantScopes.find(tenantUid, name, { forUpdate: true });
      if (existing) {
        if (existing.description !== description) {
          await tx.tenantScopes.update(tenantUid, name, { description, updatedAt: now });
          await tx.audits.insert(auditEntry(ctx, now, 'scope.update', scopeResourceOf(name), { description: { from: existing.description, to: description } }));
        }
        return false;
      }
      const max = limits.scope.catalogue.maxItems;
      if ((await tx.tenantScopes.count(tenantUid)) >= max) {
        throw conflict(`The tenant already has ${max} scopes, the most it may have. Delete scopes it no longer uses first.`, { max });
      }
      await tx.tenantScopes.insert({ tenantUid, name, description, createdAt: now, updatedAt: now });
      await tx.audits.insert(auditEntry(ctx, now, 'scope.create', scopeResourceOf(name), { description }));
      return true;
    });
    return { scope: { name, description, builtIn: false }, created };
  }

  /** Removes a tenant scope no key holds. Tenant admins (a key needs `*`). */
  async delete(ctx: RequestContext, name: string): Promise<void> {
    this.mustBeAdmin(ctx);
    if (BUILT_IN_NAMES.has(name)) throw builtInConflict(name);
    const tenantUid = ctx.actor.tenantUid;
    const now = this.opts.now();
    await this.store.transaction(async (tx) => {
      // Locked first: a key being given this scope meanwhile holds the row (shared) until it
      // commits, and is then counted below.
      const existing = await tx.tenantScopes.find(tenantUid, name, { forUpdate: true });
      if (!existing) throw notFound(`Scope "${name}"`);
      const holders = await tx.apiKeys.countHolding(tenantUid, name);
      if (holders > 0) {
        throw conflict(
          `${holders} API ${holders === 1 ? 'key holds' : 'keys hold'} the scope "${name}". Remove it from ${holders === 1 ? 'that key' : 'those keys'} (or delete them) first.`,
          { name, keys: holders },
        );
      }
      await tx.tenantScopes.delete(tenantUid, name);
      await tx.audits.insert(auditEntry(ctx, now, 'scope.delete', scopeResourceOf(name), { description: existing.description }));
    });
  }

  private mustBeAdmin(ctx: RequestContext): void {
    if (!ctx.actor.isAdmin) throw forbidden("Only a tenant admin can change the tenant's scopes.");
  }

  /** A name a tenant may define: one action of one of its own resources. */
  private checkName(name: string): void {
    const problem = scopeNameProblem(name);
    if (problem) throw badRequest(problem, { field: 'name' });
    if (BUILT_IN_NAMES.has(name)) throw builtInConflict(name);
    if (name === '*' || name.endsWith(':*')) {
      throw badRequest(`"${name}" is a wildcard: give keys wildcards, but define scopes one action at a time (resource:action).`, { field: 'name' });
    }
    const resource = scopeResource(name)!;
    // A tenant scope such as users:export would be granted by users:* along with Keyward's own
    // users:write: Keyward's resources stay Keyward's, so a key's power over Keyward is what the
    // table of built-in scopes says.
    if (BUILT_IN_RESOURCES.has(resource.toLowerCase())) {
      throw badRequest(`The resource "${resource}" is Keyward's own (its built-in scopes use it, in some case); name your service's scopes after another resource.`, {
        field: 'name',
      });
    }
  }
}
