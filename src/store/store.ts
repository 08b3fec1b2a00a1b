/** The repositories over one connection, and transactions that hand out the same set. */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { ApiKeyRepository } from './apiKeys.js';
import { AuditRepository } from './audits.js';
import { AuthRoutesRepository } from './authRoutes.js';
import type { StoreCapabilities } from './capabilities.js';
import { CredentialFailureRepository } from './credentialFailures.js';
import { type Connection, connect } from './dialects.js';
import { migrateToLatest } from './migrations.js';
import type { Database } from './schema.js';
import { TenantScopeRepository } from './scopes.js';
import { SessionRepository } from './sessions.js';
import { SignInAttemptRepository } from './signInAttempts.js';
import { TenantRepository } from './tenants.js';
import { UserRepository } from './users.js';

export class Repositories {
  readonly tenants: TenantRepository;
  readonly users: UserRepository;
  readonly apiKeys: ApiKeyRepository;
  readonly audits: AuditRepository;
  readonly signInAttempts: SignInAttemptRepository;
  readonly sessions: SessionRepository;
  readonly credentialFailures: CredentialFailureRepository;
  readonly authRoutes: AuthRoutesRepository;
  readonly tenantScopes: TenantScopeRepository;

  constructor(
    protected readonly db: Kysely<Database>,
    capabilities: StoreCapabilities,
  ) {
    this.tenants = new TenantRepository(db, capabilities.rowLocks);
    this.users = new UserRepository(db, capabilities.rowLocks);
    this.apiKeys = new ApiKeyRepository(db, capabilities.rowLocks);
    this.audits = new AuditRepository(db);
    this.signInAttempts = new SignInAttemptRepository(db);
    this.sessions = new SessionRepository(db);
    this.credentialFailures = new CredentialFailureRepository(db);
    this.authRoutes = new AuthRoutesRepository(db);
    this.tenantScopes = new TenantScopeRepository(db, capabilities.rowLocks);
  }
}

type AfterCommitHook = () => void | Promise<void>;

/** Ends a transaction: not exported, so only Store.transaction can. */
const end = Symbol('end');

/**
 * One unit of work: the repositories inside one transaction, and what is to happen once it
 * has committed. Only `Store.transaction` makes one, so whatever takes a Transaction (the
 * key-change bus's `publish`) can only be called inside a unit of work.
 */
export class Transaction extends Repositories {
  private open = true;
  private readonly hooks: AfterCommitHook[] = [];

  constructor(
    db: Kysely<Database>,
    private readonly connection: Connection,
  ) {
    super(db, connection.capabilities);
  }

  /**
   * Runs `hook` after this transaction has committed, before `Store.transaction` returns;
   * never if it rolls back. Hooks run in the order they were added.
   */
  afterCommit(hook: AfterCommitHook): void {
    if (!this.open) throw new Error('afterCommit called on a transaction that has ended');
    this.hooks.push(hook);
  }

  /**
   * Sends `payload` to every listener on `channel` if and when this transaction commits (see
   * `StoreCapabilities.notifications`, which says whether the database can).
   */
  async notify(channel: string, payload: string): Promise<void> {
    if (!this.connection.notify) throw new Error('this database has no notifications (see StoreCapabilities.notifications)');
    if (!this.open) throw new Error('notify called on a transaction that has ended');
    await this.connection.notify(this.db, channel, payload);
  }

  /** Closes the transaction to new hooks, and returns those to run: none unless it committed. */
  [end](committed: boolean): AfterCommitHook[] {
    this.open = false;
    return committed ? this.hooks.splice(0) : [];
  }
}

export class Store extends Repositories {
  constructor(readonly connection: Connection) {
    super(connection.db, connection.capabilities);
  }

  static async open(url: string): Promise<Store> {
    const store = new Store(connect(url));
    try {
      await migrateToLatest(store.db, store.capabilities.serialColumn);
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  /** What the database can do (row locks, notifications, ...): asked instead of its name. */
  get capabilities(): StoreCapabilities {
    return this.connection.capabilities;
  }

  /**
   * Runs `fn` in one transaction: all of its writes land together, or none do. Then, only if it
   * committed, the transaction's after-commit hooks run. Every hook runs even if one throws;
   * the first error is then thrown (the writes have landed all the same).
   */
  async transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    const started: Transaction[] = [];
    let result: T;
    try {
      result = await this.db.transaction().execute((trx) => {
        const tx = new Transaction(trx, this.connection);
        started.push(tx);
        return fn(tx);
      });
    } catch (err) {
      for (const tx of started) tx[end](false);
      throw err;
    }
    const errors: unknown[] = [];
    for (const hook of started.flatMap((tx) => tx[end](true))) {
      try {
        await hook();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw errors[0];
    return result;
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
