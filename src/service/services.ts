/** Wires the use cases over one store. The HTTP layer and the CLI both start here. */
import { KeyEventListener } from '../store/keyEventListener.js';
import type { Store } from '../store/store.js';
import { AuditService } from './audits.js';
import { AuthService, defaultSignInLimits, type SignInLimits } from './auth.js';
import { KeyService } from './keys.js';
import { LastUsedRecorder } from './lastUsed.js';
import { PasswordService } from './passwordChanges.js';
import { FailureLimiter } from './failureLimiter.js';
import { TenantNames } from './tenants.js';
import { UserService } from './users.js';
import { VerificationCache } from './verificationCache.js';
import { KeyVerifier } from './verifier.js';

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
  onBackgroundError?: (err: unknown) => void;
}

export interface Services {
  store: Store;
  keys: KeyService;
  users: UserService;
  auth: AuthService;
  passwords: PasswordService;
  audits: AuditService;
  tenantNames: TenantNames;
  /** Failed credential presentations per address (see failureLimiter.ts). */
  credentialFailures: FailureLimiter;
  lastUsed: LastUsedRecorder;
  cache: VerificationCache;
  /** Present on PostgreSQL: the channel that carries other instances' key changes. */
  keyEvents?: KeyEventListener;
  now: () => number;
  /** Starts background work: the key-change listener and the last-used writer. */
  start(): Promise<void>;
  /** Stops it, writing what is pending. */
  stop(): Promise<void>;
}

export function createServices(store: Store, opts: ServiceOptions): Services {
  const now = opts.now ?? Date.now;
  const onError = opts.onBackgroundError ?? (() => {});
  const cache = new VerificationCache({ maxEntries: opts.cacheMaxEntries ?? 100_000, ttlMs: opts.cacheTtlMs ?? 60_000, now });
  const keyEvents =
    store.dialect === 'postgres' && store.connection.pgConfig
      ? new KeyEventListener({
          pgConfig: store.connection.pgConfig,
          onKeysChanged: (uids) => cache.invalidate(uids),
          onReconnected: () => cache.clear(),
          onError,
        })
      : undefined;
  // Without a healthy channel, this instance could miss another's revocation: skip the cache.
  const cacheTrusted = keyEvents ? () => keyEvents.healthy() : () => true;
  const verifier = new KeyVerifier(store, cache, { secret: opts.secret, now, cacheTrusted });
  const invalidation = { keysChanged: (uids: string[]) => cache.invalidate(uids) };
  const lastUsed = new LastUsedRecorder(store, opts.lastUsedFlushMs ?? 30_000, onError);
  const signInLimits = opts.signInLimits ?? defaultSignInLimits;
  const failureWindowMs = 60_000;
  const auth = new AuthService(store, { secret: opts.secret, now, signInLimits, verifier, onError });
  // Failures only matter inside their limit's window, and sessions until they end: forget older ones now and then.
  let pruner: NodeJS.Timeout | undefined;
  const prune = () => {
    auth.guard.prune().catch(onError);
    store.sessions.prune(now()).catch(onError);
    store.credentialFailures.prune(now() - 2 * failureWindowMs).catch(onError);
  };
  return {
    store,
    now,
    cache,
    keyEvents,
    lastUsed,
    keys: new KeyService(store, { secret: opts.secret, maxLifetimeDays: opts.maxKeyLifetimeDays ?? 365, now, invalidation }),
    users: new UserService(store, { now, invalidation }),
    auth,
    passwords: new PasswordService(store, { now, auth }),
    audits: new AuditService(store),
    tenantNames: new TenantNames(store),
    credentialFailures: new FailureLimiter({ max: opts.authFailuresPerMinute ?? 100, windowMs: failureWindowMs, now, shared: store.credentialFailures, onError }),
    async start() {
      await keyEvents?.start();
      lastUsed.start();
      auth.refusals.start();
      pruner = setInterval(prune, 10 * 60 * 1000);
      pruner.unref();
    },
    async stop() {
      if (pruner) clearInterval(pruner);
      await keyEvents?.stop();
      await lastUsed.stop();
      await auth.refusals.stop();
    },
  };
}

/**
 * First start: on an empty database, tenant `default` with its tenant admin. Two instances
 * starting together on one empty PostgreSQL both try; the loser's insert fails on the unique
 * tenant name and it carries on. Returns the generated password, to be shown once.
 */
export async function bootstrap(services: Services, adminEmail: string, adminPassword?: string): Promise<{ created: boolean; generatedPassword?: string }> {
  if ((await services.store.tenants.count()) > 0) return { created: false };
  try {
    const { generatedPassword } = await services.users.createTenant({ name: 'default', adminEmail, adminPassword });
    return { created: true, generatedPassword };
  } catch (err) {
    if ((await services.store.tenants.count()) > 0) return { created: false };
    throw err;
  }
}
