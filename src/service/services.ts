/** Wires the use cases over one store. The HTTP layer and the CLI both start here. */
import type { Store } from '../store/store.js';
import { AuditService } from './audits.js';
import { AuthService, defaultSignInLimits, type SignInLimits } from './auth.js';
import { type KeyInvalidation, noInvalidation } from './invalidation.js';
import { KeyService } from './keys.js';
import { LastUsedRecorder } from './lastUsed.js';
import { UserService } from './users.js';

export interface ServiceOptions {
  secret: string;
  maxKeyLifetimeDays?: number;
  now?: () => number;
  signInLimits?: SignInLimits;
  invalidation?: KeyInvalidation;
  lastUsedFlushMs?: number;
  onBackgroundError?: (err: unknown) => void;
}

export interface Services {
  store: Store;
  keys: KeyService;
  users: UserService;
  auth: AuthService;
  audits: AuditService;
  lastUsed: LastUsedRecorder;
  now: () => number;
}

export function createServices(store: Store, opts: ServiceOptions): Services {
  const now = opts.now ?? Date.now;
  const invalidation = opts.invalidation ?? noInvalidation;
  return {
    store,
    now,
    keys: new KeyService(store, { secret: opts.secret, maxLifetimeDays: opts.maxKeyLifetimeDays ?? 365, now, invalidation }),
    users: new UserService(store, { now, invalidation }),
    auth: new AuthService(store, { secret: opts.secret, now, signInLimits: opts.signInLimits ?? defaultSignInLimits }),
    audits: new AuditService(store),
    lastUsed: new LastUsedRecorder(store, opts.lastUsedFlushMs ?? 30_000, opts.onBackgroundError ?? (() => {})),
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
