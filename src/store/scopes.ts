/**
 * A tenant's own scopes (the catalogue behind GET/PUT/DELETE /v1/scopes), for the services behind
 * Keyward. Keyward's built-in scopes are code (domain/scopes.ts), never rows.
 */
import { type Kysely, type Selectable, sql } from 'kysely';
import { escapeLike } from './like.js';
import type { Database, TenantScopesTable } from './schema.js';

export interface TenantScope {
  tenantUid: string;
  name: string;
  description: string;
  createdAt: number;
  updatedAt: number;
}

const toScope = (row: Selectable<TenantScopesTable>): TenantScope => ({
  tenantUid: row.tenant_uid,
  name: row.name,
  description: row.description,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export class TenantScopeRepository {
  /** `rowLocks`: the database has SELECT ... FOR SHARE / FOR UPDATE (PostgreSQL). SQLite needs none: it has one writer. */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly rowLocks: boolean,
  ) {}

  /** The tenant's scopes, by name (byte order, the same on both databases). */
  async list(tenantUid: string): Promise<TenantScope[]> {
    const rows = await this.db.selectFrom('tenant_scopes').selectAll().where('tenant_uid', '=', tenantUid).execute();
    // Sorted here, not by ORDER BY: PostgreSQL's collation would sort by its locale.
    return rows.map(toScope).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async count(tenantUid: string): Promise<number> {
    const row = await this.db
      .selectFrom('tenant_scopes')
      .where('tenant_uid', '=', tenantUid)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** With `forUpdate` inside a transaction, a key being given this scope waits for this change, and the other way round. */
  async find(tenantUid: string, name: string, opts: { forUpdate?: boolean } = {}): Promise<TenantScope | undefined> {
    let q = this.db.selectFrom('tenant_scopes').selectAll().where('tenant_uid', '=', tenantUid).where('name', '=', name);
    if (opts.forUpdate && this.rowLocks) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    return row && toScope(row);
  }

  /**
   * Which of `names` the tenant has. Inside a transaction the rows found stay locked (shared)
   * until commit, so a deletion of one of them waits for the key being given it, and then sees
   * that key (DELETE answers 409 while a key holds the scope).
   */
  async existing(tenantUid: string, names: readonly string[]): Promise<Set<string>> {
    if (names.length === 0) return new Set();
    let q = this.db.selectFrom('tenant_scopes').select('name').where('tenant_uid', '=', tenantUid).where('name', 'in', [...names]);
    if (this.rowLocks) q = q.forShare();
    const rows = await q.execute();
    return new Set(rows.map((r) => r.name));
  }

  /** Whether the tenant has a scope of `resource` (`resource:*` is known then). */
  async hasResource(tenantUid: string, resource: string): Promise<boolean> {
    // Resource names hold only A-Z a-z 0-9 _ . - : `_` is LIKE's one-character wildcard, so the
    // match is checked again on the name found.
    const rows = await this.db
      .selectFrom('tenant_scopes')
      .select('name')
      .where('tenant_uid', '=', tenantUid)
      .where(sql<boolean>`name like ${`${escapeLike(resource)}:%`} escape '\\'`)
      .execute();
    return rows.some((r) => r.name.startsWith(`${resource}:`));
  }

  async insert(scope: TenantScope): Promise<void> {
    await this.db
      .insertInto('tenant_scopes')
      .values({ tenant_uid: scope.tenantUid, name: scope.name, description: scope.description, created_at: scope.createdAt, updated_at: scope.updatedAt })
      .execute();
  }

  async update(tenantUid: string, name: string, fields: { description: string; updatedAt: number }): Promise<void> {
    await this.db
      .updateTable('tenant_scopes')
      .set({ description: fields.description, updated_at: fields.updatedAt })
      .where('tenant_uid', '=', tenantUid)
      .where('name', '=', name)
      .execute();
  }

  async delete(tenantUid: string, name: string): Promise<boolean> {
    const result = await this.db.deleteFrom('tenant_scopes').where('tenant_uid', '=', tenantUid).where('name', '=', name).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
