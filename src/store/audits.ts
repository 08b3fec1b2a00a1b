import { type CompiledQuery, type Insertable, type Kysely, type Selectable, sql } from 'kysely';
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

export interface AuditFilter {
  tenantUid: string;
  /** Only entries this user made, or about resources they own. */
  involving?: string;
  resourceUid?: string;
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
  async list(filter: AuditFilter, page: PageRequest): Promise<Page<AuditEntry> & { count: number }> {
    const { items, count } = this.listQueries(filter, page);
    const total = await this.db.executeQuery<{ n: number | string }>(count);
    const rows = (await this.db.executeQuery<Selectable<AuditsTable>>(items)).rows;
    const { items: entries, continue: next } = toPage(rows, page.limit, (r) => [Number(r.seq), r.uid]);
    return { items: entries.map(toEntry), continue: next, count: Number(total.rows[0].n) };
  }

  /** The two statements `list` runs (the page, and the count), compiled: tests check their query plans. */
  listQueries(filter: AuditFilter, page: PageRequest): { items: CompiledQuery; count: CompiledQuery } {
    const { tenantUid, involving, resourceUid } = filter;
    const after = page.after?.position;
    const db = this.db;
    if (involving === undefined) {
      let q = db.selectFrom('audits').where('tenant_uid', '=', tenantUid);
      if (resourceUid !== undefined) q = q.where('resource_uid', '=', resourceUid);
      return {
        count: q.select((eb) => eb.fn.countAll<number>().as('n')).compile(),
        items: (after !== undefined ? q.where('seq', '<', after) : q).selectAll().orderBy('seq', 'desc').limit(page.limit + 1).compile(),
      };
    }
    // A user's entries are those they made and those about what they own. `actor = ? OR owner = ?`
    // leaves the database one choice, walking the tenant's log newest first until the page is
    // full: the whole log for a user with few entries. Instead, each side is a range of its own
    // index (audits_tenant_actor, audits_tenant_owner), read only as far as one page, and the
    // union of the two is at most two pages of sequence numbers.
    const side = (column: 'actor_user_uid' | 'resource_owner_uid') => {
      let q = db.selectFrom('audits').select('seq').where('tenant_uid', '=', tenantUid).where(column, '=', involving);
      if (resourceUid !== undefined) q = q.where('resource_uid', '=', resourceUid);
      return q;
    };
    const pageOf = (column: 'actor_user_uid' | 'resource_owner_uid') => {
      const q = side(column);
      // SQLite allows no ORDER BY or LIMIT on a member of a UNION: each is wrapped as a subquery.
      return db.selectFrom((after !== undefined ? q.where('seq', '<', after) : q).orderBy('seq', 'desc').limit(page.limit + 1).as('page')).select('seq');
    };
    return {
      count: db
        .selectFrom(side('actor_user_uid').union(side('resource_owner_uid')).as('mine'))
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .compile(),
      items: db
        .selectFrom('audits')
        .selectAll()
        .where('seq', 'in', pageOf('actor_user_uid').union(pageOf('resource_owner_uid')))
        .orderBy('seq', 'desc')
        .limit(page.limit + 1)
        .compile(),
    };
  }

  /**
   * Deletes up to `batch` entries older than `before`, oldest first, and says how many went. A
   * small batch keeps each statement short: on SQLite a statement holds the one connection.
   */
  async pruneBatch(before: number, batch: number): Promise<number> {
    const result = await this.db
      .deleteFrom('audits')
      .where('seq', 'in', (eb) => eb.selectFrom('audits').select('seq').where('at', '<', before).orderBy('at').limit(batch))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
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
