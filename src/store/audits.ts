import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface AuditEntry {
  uid: string;
  tenantUid: string | null;
  at: number;
  action: string;
  actor: { userUid: string | null; email: string | null; apiKeyUid: string | null };
  resource: { kind: string; uid: string | null; name: string | null; ownerUid: string | null };
  address: string | null;
  details: Record<string, unknown>;
}

export class AuditRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(e: AuditEntry): Promise<void> {
    await this.db
      .insertInto('audits')
      .values({
        uid: e.uid,
        tenant_uid: e.tenantUid,
        at: e.at,
        action: e.action,
        actor_user_uid: e.actor.userUid,
        actor_email: e.actor.email,
        actor_api_key_uid: e.actor.apiKeyUid,
        resource_kind: e.resource.kind,
        resource_uid: e.resource.uid,
        resource_name: e.resource.name,
        resource_owner_uid: e.resource.ownerUid,
        address: e.address,
        details: JSON.stringify(e.details),
      })
      .execute();
  }

  /**
   * Newest first. `involving` narrows to entries a user did or that concern their resources.
   */
  async list(filter: { tenantUid: string; involving?: string; resourceUid?: string; limit: number }): Promise<AuditEntry[]> {
    let q = this.db.selectFrom('audits').selectAll().where('tenant_uid', '=', filter.tenantUid);
    const involving = filter.involving;
    if (involving !== undefined) {
      q = q.where((eb) => eb.or([eb('actor_user_uid', '=', involving), eb('resource_owner_uid', '=', involving)]));
    }
    if (filter.resourceUid !== undefined) q = q.where('resource_uid', '=', filter.resourceUid);
    const rows = await q.orderBy('seq', 'desc').limit(filter.limit).execute();
    return rows.map((r) => ({
      uid: r.uid,
      tenantUid: r.tenant_uid,
      at: r.at,
      action: r.action,
      actor: { userUid: r.actor_user_uid, email: r.actor_email, apiKeyUid: r.actor_api_key_uid },
      resource: { kind: r.resource_kind, uid: r.resource_uid, name: r.resource_name, ownerUid: r.resource_owner_uid },
      address: r.address,
      details: JSON.parse(r.details),
    }));
  }
}
