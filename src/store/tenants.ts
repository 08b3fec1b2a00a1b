import type { Kysely } from 'kysely';
import type { Tenant } from '../domain/model.js';
import type { Database } from './schema.js';

export class TenantRepository {
  /** `rowLocks`: the database has SELECT ... FOR UPDATE (PostgreSQL). SQLite needs none: it has one writer. */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly rowLocks = false,
  ) {}

  /**
   * Inside a transaction, holds the tenant's row until commit, so that changes which must see
   * the tenant's users as a whole (keeping a tenant admin) happen one at a time.
   */
  async lock(uid: string): Promise<void> {
    if (!this.rowLocks) return;
    await this.db.selectFrom('tenants').select('uid').where('uid', '=', uid).forUpdate().execute();
  }

  async insert(tenant: Tenant): Promise<void> {
    await this.db
      .insertInto('tenants')
      .values({ uid: tenant.uid, name: tenant.name, created_at: tenant.createdAt })
      .execute();
  }

  async findByUid(uid: string): Promise<Tenant | undefined> {
    const row = await this.db.selectFrom('tenants').selectAll().where('uid', '=', uid).executeTakeFirst();
    return row && { uid: row.uid, name: row.name, createdAt: row.created_at };
  }

  async findByName(name: string): Promise<Tenant | undefined> {
    const row = await this.db.selectFrom('tenants').selectAll().where('name', '=', name).executeTakeFirst();
    return row && { uid: row.uid, name: row.name, createdAt: row.created_at };
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('tenants').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
