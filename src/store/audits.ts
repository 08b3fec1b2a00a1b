import { type Insertable, type Kysely, type Selectable, sql } from 'kysely';
import { type Page, type PageRequest, toPage } from './paging.js';
import type { AuditsTable, Database } from './schema.js';

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
    await this.db.insertInto('audits').values(toRow(e)).execute();
  }

  /**
   * Writes `e` the first time its uid is seen, and from then on only adds `times` to its count:
   * the entry stands for every repeat (its `details.count`), so that a flood of refused sign-ins costs one row
   * per account, address and window instead of one each. The uid must name the repeat: derive
   * it from what makes two occurrences the same.
   */
  async insertOrCount(e: AuditEntry, times: number): Promise<void> {
    await this.db
      .insertInto('audits')
      .values({ ...toRow(e), occurrences: times })
      .onConflict((oc) => oc.column('uid').doUpdateSet({ occurrences: sql<number>`coalesce(audits.occurrences, 1) + ${times}` }))
      .execute();
  }

  /**
   * Newest first, a page at a time: the position in `page.after` is the sequence number of the
   * last entry already read. `involving` narrows to entries a user did or that concern their
   * resources.
   */
  async list(filter: { tenantUid: string; involving?: string; resourceUid?: string }, page: PageRequest): Promise<Page<AuditEntry> & { count: number }> {
    let q = this.db.selectFrom('audits').where('tenant_uid', '=', filter.tenantUid);
    const involving = filter.involving;
    if (involving !== undefined) {
      q = q.where((eb) => eb.or([eb('actor_user_uid', '=', involving), eb('resource_owner_uid', '=', involving)]));
    }
    if (filter.resourceUid !== undefined) q = q.where('resource_uid', '=', filter.resourceUid);
    const total = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const after = page.after;
    const rows = await (after ? q.where('seq', '<', after.position) : q).selectAll().orderBy('seq', 'desc').limit(page.limit + 1).execute();
    const { items, continue: next } = toPage(rows, page.limit, (r) => [Number(r.seq), r.uid]);
    return { items: items.map(toEntry), continue: next, count: Number(total.n) };
  }
}

function toRow(e: AuditEntry): Insertable<AuditsTable> {
  return {
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
  };
}

function toEntry(r: Selectable<AuditsTable>): AuditEntry {
  return {
    uid: r.uid,
    tenantUid: r.tenant_uid,
    at: r.at,
    action: r.action,
    actor: { userUid: r.actor_user_uid, email: r.actor_email, apiKeyUid: r.actor_api_key_uid },
    resource: { kind: r.resource_kind, uid: r.resource_uid, name: r.resource_name, ownerUid: r.resource_owner_uid },
    address: r.address,
    details: r.occurrences == null ? JSON.parse(r.details) : { ...JSON.parse(r.details), count: Number(r.occurrences) },
  };
}
