/**
 * A tenant's forward-auth route rules (`GET`/`PUT /v1/authRoutes`), and their compiled form for
 * `GET /v1/auth/check`, which needs them on every request.
 *
 * The compiled rules are kept per tenant in memory, so a forward-auth request reads no database
 * (a cached key and cached rules answer without a promise). A change is announced on the
 * key-change bus (`authRoutes.changed`), which drops the tenant's entry here and on every other
 * instance once it commits; while the bus cannot be trusted (`healthy()` false), the cache is
 * bypassed, as the key cache is (verifier.ts). Entries are also re-read after `ttlMs` whatever
 * happens, a safety net like the key cache's.
 */
import { badRequest, forbidden } from '../domain/errors.js';
import { type CompiledRoutes, compileRouteRules, NO_ROUTE_RULES, type RouteRule, type RouteRules, routeRulesProblem } from '../domain/routeRules.js';
import type { Store } from '../store/store.js';
import { auditEntry, type RequestContext } from './context.js';
import type { KeyChangeListener, KeyChangePublisher } from './keyChanges/bus.js';

export interface AuthRouteServiceOptions {
  now: () => number;
  keyChanges: KeyChangePublisher;
  /** False while changes from other instances may be missed: the cache is not read then. */
  cacheTrusted: () => boolean;
  /** How long compiled rules are trusted before they are read again, whatever else happens. */
  ttlMs?: number;
}

/** The rules as a request gives them: `require` may be left out (any valid key). */
export interface RouteRulesInput {
  mode: RouteRules['mode'];
  default: RouteRules['default'];
  rules: (Omit<RouteRule, 'require'> & { require?: string })[];
}

interface Entry {
  compiled: CompiledRoutes;
  storedAt: number;
}

const DEFAULT_TTL_MS = 60_000;

/** The resource every route-rules audit entry is about: the tenant's one set of rules. */
const rulesResource = (tenantUid: string) => ({ kind: 'authRoutes', uid: tenantUid, name: 'route rules', ownerUid: null });

const summary = (r: RouteRules) => ({ mode: r.mode, default: r.default, rules: r.rules.length });

export class AuthRouteService {
  private readonly cache = new Map<string, Entry>();
  /** Reads in progress, one per tenant: a cold cache under load costs one read, not one per request. */
  private readonly loading = new Map<string, Promise<CompiledRoutes>>();
  /** Counts invalidations: a read that started before one must not store what it read. */
  private generation = 0;
  private readonly empty = compileRouteRules(NO_ROUTE_RULES);

  constructor(
    private readonly store: Store,
    private readonly opts: AuthRouteServiceOptions,
  ) {}

  /** `GET /v1/authRoutes`: the tenant's rules, or the default (enforce, allow, no rules). */
  async get(ctx: RequestContext): Promise<RouteRules> {
    if (!ctx.actor.isAdmin) throw forbidden("Only a tenant admin can read the tenant's route rules.");
    return (await this.store.authRoutes.find(ctx.actor.tenantUid))?.rules ?? NO_ROUTE_RULES;
  }

  /**
   * `PUT /v1/authRoutes`: replaces the tenant's rules, audited, and in force on every instance
   * once it commits. Rules that could not be enforced as written are refused whole (400, naming
   * the rule), and nothing changes.
   */
  async put(ctx: RequestContext, input: RouteRulesInput): Promise<RouteRules> {
    if (!ctx.actor.isAdmin) throw forbidden("Only a tenant admin can change the tenant's route rules.");
    const rules = cleaned(input);
    const problem = routeRulesProblem(rules);
    if (problem !== undefined) throw badRequest(problem, { field: 'rules' });
    // What forward-auth will run: compiled once here too, so that nothing saved can fail there.
    compileRouteRules(rules);
    const { tenantUid } = ctx.actor;
    const now = this.opts.now();
    await this.store.transaction(async (tx) => {
      const before = (await tx.authRoutes.find(tenantUid))?.rules ?? NO_ROUTE_RULES;
      await tx.authRoutes.save(tenantUid, rules, now, ctx.actor.userUid);
      await tx.audits.insert(auditEntry(ctx, now, 'authRoutes.update', rulesResource(tenantUid), { from: summary(before), to: summary(rules) }));
      await this.opts.keyChanges.publish(tx, { type: 'authRoutes.changed', tenantUid });
    });
    return rules;
  }

  /**
   * The tenant's compiled rules: at once from memory when cached, else a promise of one read.
   * Called on every forward-auth request.
   */
  compiled(tenantUid: string): CompiledRoutes | Promise<CompiledRoutes> {
    const hit = this.cache.get(tenantUid);
    if (hit !== undefined && this.opts.now() - hit.storedAt < (this.opts.ttlMs ?? DEFAULT_TTL_MS) && this.opts.cacheTrusted()) return hit.compiled;
    let pending = this.loading.get(tenantUid);
    if (pending === undefined) {
      pending = this.load(tenantUid).finally(() => {
        if (this.loading.get(tenantUid) === pending) this.loading.delete(tenantUid);
      });
      this.loading.set(tenantUid, pending);
    }
    return pending;
  }

  private async load(tenantUid: string): Promise<CompiledRoutes> {
    const generation = this.generation;
    const stored = await this.store.authRoutes.find(tenantUid);
    const compiled = stored === undefined ? this.empty : compileRouteRules(stored.rules);
    if (generation === this.generation) this.cache.set(tenantUid, { compiled, storedAt: this.opts.now() });
    return compiled;
  }

  /** Forgets one tenant's rules: the next request reads them again. */
  forget(tenantUid: string): void {
    this.generation++;
    this.cache.delete(tenantUid);
    // A read already under way may have read the old rules: later requests must not join it.
    this.loading.delete(tenantUid);
  }

  /** Forgets every tenant's rules (events may have been missed). */
  clear(): void {
    this.generation++;
    this.cache.clear();
    this.loading.clear();
  }

  /** What the key-change bus tells this instance. */
  listener(): KeyChangeListener {
    return {
      event: (event) => {
        if (event.type === 'authRoutes.changed') this.forget(event.tenantUid);
      },
      missed: () => this.clear(),
    };
  }
}

/** Only the fields a rule set has, in their order, `require` defaulting to "" (any valid key). */
function cleaned(input: RouteRulesInput): RouteRules {
  if (input === null || typeof input !== 'object' || !Array.isArray(input.rules)) return input as unknown as RouteRules;
  return {
    mode: input.mode,
    default: input.default,
    rules: input.rules.map((r) =>
      r === null || typeof r !== 'object' ? (r as unknown as RouteRule) : { methods: r.methods, path: r.path, require: r.require === undefined ? '' : r.require },
    ),
  };
}
