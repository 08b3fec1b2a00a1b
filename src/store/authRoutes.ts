/**
 * A tenant's forward-auth route rules (domain/routeRules.ts): one JSON document per tenant,
 * read whole and written whole. Nothing queries a part of it, and the service compiles and
 * caches it whole (service/authRoutes.ts), so a table of rule rows would buy nothing.
 */
import type { Kysely } from 'kysely';
import type { RouteRules } from '../domain/routeRules.js';
import type { Database } from './schema.js';

export interface StoredRouteRules {
  rules: RouteRules;
  updatedAt: number;
  updatedByUid: string | null;
}

export class AuthRoutesRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** The tenant's rules, or undefined when it has never set any. */
  async find(tenantUid: string): Promise<StoredRouteRules | undefined> {
    const row = await this.db.selectFrom('auth_routes').selectAll().where('tenant_uid', '=', tenantUid).executeTakeFirst();
    if (!row) return undefined;
    return { rules: JSON.parse(row.config) as RouteRules, updatedAt: Number(row.updated_at), updatedByUid: row.updated_by_uid };
  }

  /** Replaces the tenant's rules (the row is made on the first save). */
  async save(tenantUid: string, rules: RouteRules, at: number, byUid: string | null): Promise<void> {
    const config = JSON.stringify(rules);
    await this.db
      .insertInto('auth_routes')
      .values({ tenant_uid: tenantUid, config, updated_at: at, updated_by_uid: byUid })
      .onConflict((oc) => oc.column('tenant_uid').doUpdateSet({ config, updated_at: at, updated_by_uid: byUid }))
      .execute();
  }
}
