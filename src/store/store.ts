/** The repositories over one connection, and transactions that hand out the same set. */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { ApiKeyRepository } from './apiKeys.js';
import { AuditRepository } from './audits.js';
import { CredentialFailureRepository } from './credentialFailures.js';
import { type Connection, connect, type Dialect } from './dialects.js';
import { KeyEventPublisher } from './keyEvents.js';
import { migrateToLatest } from './migrations.js';
import type { Database } from './schema.js';
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
  /** Call inside the transaction that changes keys: other instances hear of it on commit. */
  readonly keyEvents: KeyEventPublisher;

  constructor(
    protected readonly db: Kysely<Database>,
    dialect: Dialect,
  ) {
    this.tenants = new TenantRepository(db, dialect === 'postgres');
    this.users = new UserRepository(db, dialect === 'postgres');
    this.apiKeys = new ApiKeyRepository(db, dialect === 'postgres');
    this.audits = new AuditRepository(db);
    this.signInAttempts = new SignInAttemptRepository(db);
    this.sessions = new SessionRepository(db);
    this.credentialFailures = new CredentialFailureRepository(db);
    this.keyEvents = new KeyEventPublisher(db, dialect);
  }
}

export class Store extends Repositories {
  constructor(readonly connection: Connection) {
    super(connection.db, connection.dialect);
  }

  static async open(url: string): Promise<Store> {
    const store = new Store(connect(url));
    try {
      await migrateToLatest(store.db, store.connection.dialect);
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  get dialect() {
    return this.connection.dialect;
  }

  /** Runs `fn` in one transaction: all of its writes land together, or none do. */
  transaction<T>(fn: (tx: Repositories) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => fn(new Repositories(trx, this.dialect)));
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
