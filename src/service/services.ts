/** Wires the use cases over one store. The HTTP layer and the CLI both start here. */
import { KeywardError } from '../domain/errors.js';
import type { Store } from '../store/store.js';
import { AuditService } from './audits.js';
import { AuthService, defaultSignInLimits, type SignInLimits } from './auth.js';
import { AuthRouteService } from './authRoutes.js';
import { ForwardAuth } from './forwardAuth.js';
import { ObservedRefusals } from './observedRefusals.js';
import type { KeyChangeBus } from './keyChanges/bus.js';
import { InProcessKeyChangeBus } from './keyChanges/inProcess.js';
import { NotificationKeyChangeBus } from './keyChanges/overNotifications.js';
import { Authenticator } from './authenticate.js';
import { KeyService } from './keys.js';
import { LastUsedRecorder } from './lastUsed.js';
import { PasswordService } from './passwordChanges.js';
import { ScopeService } from './scopes.js';
import { FailureLimiter } from './failureLimiter.js';
import { TenantNames } from './tenants.js';
import { UserService } from './users.js';
import { VerificationCache, cacheInvalidation } from './verificationCache.js';
import { KeyVerifier } from './verifier.js';

/** The tenant made at first start. */
export const DEFAULT_TENANT = 'default';

export interface ServiceOptions {
  secret: string;
  maxKeyLifetimeDays?: number;
  now?: () => number;
  signInLimits?: SignInLimits;
  lastUsedFlushMs?: number;
  /** Most verified keys kept in memory (0 turns the cache off). */
  cacheMaxEntries?: number;
  /** How long a cached key is trusted before it is read again, whatever else happens. */
  cacheTtlMs?: number;
  /** Failed API key or token presentations allowed per client address per minute (0: no limit). */
  authFailuresPerMinute?: number;
  /** Audit entries older than this many days are deleted (0 keeps them forever). */
  auditRetentionDays?: number;
  onBackgroundError?: (err: unknown) => void;
}

export interface Services {
  store: Store;
  keys: KeyService;
  users: UserService;
  auth: AuthService;
  /** Authenticates a request's credential: the one place failures are counted and key use recorded. */
  authenticator: Authenticator;
  passwords: PasswordService;
  audits: AuditService;
  /** The scope catalogue: built-in scopes and each tenant's own. */
  scopes: ScopeService;
  tenantNames: TenantNames;
  lastUsed: LastUsedRecorder;
  cache: VerificationCache;
  /** Carries key changes to this instance's cache and to every other instance's. */
  keyChanges: KeyChangeBus;
  /** Tenants' forward-auth route rules, and their compiled cache. */
  authRoutes: AuthRouteService;
  /** Forward-auth's verdict of the route rules on a proxied request. */
  forwardAuth: ForwardAuth;
  /** Refusals observed by route rules in audit mode, counted into the audit log. */
  observedRefusals: ObservedRefusals;
  now: () => number;
  /** Starts background work: the key-change bus and the last-used writer. */
  start(): Promise<void>;
  /** Stops it, writing what is pending. */
  stop(): Promise<void>;
  /** Forgets what has outlived its use: old failure counts, and audit entries past their retention. Runs every 10 minutes. */
  prune(): Promise<void>;
}

const DAY_MS = 86_400_000;
/** Audit entries deleted per statement: each is short, so requests go on between them. */
const AUDIT_PRUNE_BATCH = 1000;

export function createServices(store: Store, opts: ServiceOptions): Services {
  const now = opts.now ?? Date.now;
  const onError = opts.onBackgroundError ?? (() => {});
  const cache = new VerificationCache({ maxEntries: opts.cacheMaxEntries ?? 100_000, ttlMs: opts.cacheTtlMs ?? 60_000, now });
  const { notifications } = store.capabilities;
  // Where other processes share the database, they must hear of key changes through it.
  const keyChanges: KeyChangeBus = notifications ? new NotificationKeyChangeBus(notifications, { onError }) : new InProcessKeyChangeBus({ onError });
  keyChanges.subscribe(cacheInvalidation(cache));
  // Without a healthy bus, this instance could miss another's revocation: skip the cache.
  const verifier = new KeyVerifier(store, cache, { secret: opts.secret, now, cacheTrusted: () => keyChanges.healthy() });
  const lastUsed = new LastUsedRecorder(store, opts.lastUsedFlushMs ?? 30_000, onError);
  const signInLimits = opts.signInLimits ?? defaultSignInLimits;
  const failureWindowMs = 60_000;
  const auth = new AuthService(store, { secret: opts.secret, now, signInLimits, onError });
  const credentialFailures = new FailureLimiter({ max: opts.authFailuresPerMinute ?? 100, windowMs: failureWindowMs, now, shared: store.credentialFailures, onError });
  const authenticator = new Authenticator({ verifier, sessions: auth, failures: credentialFailures, lastUsed, now });
  const authRoutes = new AuthRouteService(store, { now, keyChanges, cacheTrusted: () => keyChanges.healthy(), ttlMs: opts.cacheTtlMs });
  keyChanges.subscribe(authRoutes.listener());
  const observedRefusals = new ObservedRefusals(store, { now, onError });
  const auditRetentionDays = opts.auditRetentionDays ?? 365;
  // Failures only matter inside their limit's window, and sessions until they end: forget older
  // ones now and then. Audit
  // entries go once past their retention, a batch at a time.
  let pruner: NodeJS.Timeout | undefined;
  let pruning: Promise<void> | undefined;
  let stopped = false;
  const pruneAudits = async () => {
    if (auditRetentionDays === 0) return;
    const before = now() - auditRetentionDays * DAY_MS;
    while ((await store.audits.pruneBatch(before, AUDIT_PRUNE_BATCH)) === AUDIT_PRUNE_BATCH && !stopped) {
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  const prune = () =>
    (pruning ??= Promise.all([
      auth.guard.prune(),
      store.sessions.prune(now()),
      store.credentialFailures.prune(now() - 2 * failureWindowMs),
      pruneAudits(),
    ])
      .then(() => {})
      .finally(() => (pruning = undefined)));
  return {
    store,
    now,
    cache,
    keyChanges,
    lastUsed,
    keys: new KeyService(store, { secret: opts.secret, maxLifetimeDays: opts.maxKeyLifetimeDays ?? 365, now, keyChanges }),
    users: new UserService(store, { now, keyChanges }),
    auth,
    passwords: new PasswordService(store, { now, auth }),
    audits: new AuditService(store),
    scopes: new ScopeService(store, { now }),
    tenantNames: new TenantNames(store),
    authenticator,
    authRoutes,
    observedRefusals,
    forwardAuth: new ForwardAuth(authRoutes, observedRefusals),
    async start() {
      await keyChanges.start();
      lastUsed.start();
      auth.refusals.start();
      observedRefusals.start();
      pruner = setInterval(() => prune().catch(onError), 10 * 60 * 1000);
      pruner.unref();
    },
    prune,
    async stop() {
      stopped = true;
      if (pruner) clearInterval(pruner);
      await pruning?.catch(() => {});
      await keyChanges.stop();
      await lastUsed.stop();
      await auth.refusals.stop();
      await observedRefusals.stop();
    },
  };
}

export type BootstrapResult =
  | { outcome: 'created'; generatedPassword?: string }
  | { outcome: 'exists' }
  /** Tenant `default` does not exist and was not created; `reason` says why and what to do, in one line. */
  | { outcome: 'skipped'; reason: string };

/**
 * At every start: tenant `default` with its tenant admin, unless it exists. On an empty database
 * it is created, with a generated password (shown once) when KEYWARD_ADMIN_PASSWORD is unset.
 * When tenants were made before the first start (`keyward tenant create`), it is created only if
 * KEYWARD_ADMIN_PASSWORD is set, since the operator asked for that admin; otherwise the answer
 * says it was skipped and why, rather than nothing (a password that was set is never ignored
 * without a word). Two instances starting together both try; the loser's insert fails on the
 * unique tenant name and it carries on.
 */
export async function bootstrap(services: Services, adminEmail: string, adminPassword?: string): Promise<BootstrapResult> {
  const { tenants } = services.store;
  if (await tenants.findByName(DEFAULT_TENANT)) return { outcome: 'exists' };
  const others = await tenants.count();
  if (others > 0 && adminPassword === undefined) {
    return {
      outcome: 'skipped',
      reason:
        `tenant "${DEFAULT_TENANT}" was not created: the database already holds ${others} tenant(s) made before the first start. ` +
        `Sign in as their admins, or set KEYWARD_ADMIN_PASSWORD to create "${DEFAULT_TENANT}" with tenant admin ${adminEmail} on the next start.`,
    };
  }
  try {
    const { generatedPassword } = await services.users.createTenant({ name: DEFAULT_TENANT, adminEmail, adminPassword });
    return { outcome: 'created', generatedPassword };
  } catch (err) {
    if (await tenants.findByName(DEFAULT_TENANT)) return { outcome: 'exists' };
    if (others > 0 && err instanceof KeywardError && err.code === 'Conflict' && (await services.store.users.findByEmail(adminEmail.trim().toLowerCase()))) {
      return {
        outcome: 'skipped',
        reason: `tenant "${DEFAULT_TENANT}" was not created: KEYWARD_ADMIN_EMAIL ${adminEmail} is already a user of another tenant. Set another KEYWARD_ADMIN_EMAIL to create it.`,
      };
    }
    throw err;
  }
}
