/**
 * The audit log at size: a plain user's `GET /v1/audits` reads its own entries through indexes
 * (checked in the query plans of both databases, not by timing), and stays right: the same
 * entries, newest first, paged without gaps or repeats, filtered by resource. Old entries go
 * once past KEYWARD_AUDIT_RETENTION_DAYS.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { CompiledQuery, sql } from 'kysely';
import { createServices } from '../src/service/services.js';
import { type Caller, DAY, eachDatabase, type Harness, SECRET } from './helpers/harness.js';

/** `n` entries in the harness tenant by 200 other users, written straight into the table (an API call each would take minutes). */
async function fillLog(h: Harness, n: number, opts: { at?: number; actor?: string } = {}) {
  const at = opts.at ?? h.clock.now - DAY;
  const prefix = `fill-${Math.random().toString(36).slice(2)}-`;
  await sql`
    with recursive n(i) as (select 1 union all select i + 1 from n where i < ${n})
    insert into audits (uid, tenant_uid, at, action, actor_user_uid, actor_email, actor_api_key_uid, resource_kind, resource_uid, resource_name, resource_owner_uid, address, details)
    select cast(${prefix} as text) || i, ${h.tenantUid}, cast(${at} as bigint) + i, 'apiKey.update',
           cast(${opts.actor ?? 'other-'} as text) || (i % 200), null, null, 'apiKey', 'key-' || (i % 5000), 'k', 'other-' || (i % 200), '10.0.0.1', '{}'
    from n`.execute(h.store.connection.db);
}

/** Every table access in the plan of `query`, as [table, how, index]. */
async function accesses(h: Harness, query: CompiledQuery): Promise<{ table: string; how: string; index?: string; detail: string }[]> {
  const db = h.store.connection.db;
  if (h.db.name === 'sqlite') {
    const rows = (await db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${query.sql}`, [...query.parameters]))).rows;
    return rows
      .map((r) => r.detail.match(/^(SCAN|SEARCH) (\w+)(?: USING (?:COVERING )?(?:INDEX (\w+)|INTEGER PRIMARY KEY))?/))
      .filter((m): m is RegExpMatchArray => m !== null)
      .map((m) => ({ table: m[2], how: m[1], index: m[3] ?? (m[0].includes('PRIMARY KEY') ? 'rowid' : undefined), detail: m.input! }));
  }
  const rows = (await db.executeQuery<{ 'QUERY PLAN': any }>(CompiledQuery.raw(`explain (format json) ${query.sql}`, [...query.parameters]))).rows;
  const out: { table: string; how: string; index?: string; detail: string }[] = [];
  const walk = (node: any) => {
    if (node['Relation Name']) out.push({ table: node['Relation Name'], how: node['Node Type'], index: node['Index Name'], detail: JSON.stringify(node).slice(0, 300) });
    if (node['Node Type'] === 'Bitmap Index Scan') out.push({ table: 'audits', how: node['Node Type'], index: node['Index Name'], detail: node['Index Cond'] });
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(rows[0]['QUERY PLAN'][0].Plan);
  return out;
}

/** The plan reads audits only by the user's own indexes (or by primary key), never the tenant's whole log. */
async function assertReadsOnlyOwnEntries(h: Harness, query: CompiledQuery, what: string) {
  const plan = (await accesses(h, query)).filter((a) => a.table === 'audits');
  assert.ok(plan.length > 0, `${what}: the plan reads audits`);
  const allowed = new Set(['audits_tenant_actor', 'audits_tenant_owner', 'audits_resource', 'rowid', 'audits_pkey']);
  for (const a of plan) {
    assert.ok(a.how !== 'SCAN' && a.how !== 'Seq Scan', `${what}: no full scan of audits (${a.detail})`);
    if (a.how !== 'Bitmap Heap Scan') assert.ok(a.index && allowed.has(a.index), `${what}: reads by ${a.index}, not by the tenant's log (${a.detail})`);
  }
}

async function collect(h: Harness, caller: Caller, query: string, limit: number) {
  const uids: string[] = [];
  let next = '';
  let count = -1;
  do {
    const res = await h.inject('GET', `/v1/audits?limit=${limit}${query}${next ? `&continue=${next}` : ''}`, { headers: caller.auth });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.ok(body.items.length <= limit);
    count = body.listmeta.count;
    uids.push(...body.items.map((a: any) => a.metadata.uid));
    next = body.listmeta.continue;
  } while (next);
  return { uids, count };
}

eachDatabase('audit log at size', (h) => {
  it("a plain user's listing is exactly their entries (made by them, or about what they own), newest first, in pages, by resource", async () => {
    const user = await h().createUser();
    const other = await h().createUser();
    const own = await h().createKey(user, { name: 'own' });
    const second = await h().createKey(user, { name: 'second' });
    await fillLog(h(), 300);
    const byAdmin = await h().createKey(h().admin, { name: 'given', userUid: user.uid });
    await h().inject('PATCH', `/v1/apiKeys/${own.uid}`, { headers: h().admin.auth, body: { isActive: false } });
    await h().createKey(other, { name: 'theirs' });
    await fillLog(h(), 300);
    await h().inject('PUT', `/v1/apiKeys/${second.uid}`, { headers: user.auth, body: { metadata: { name: 'second-renamed' } } });
    await h().inject('PATCH', `/v1/apiKeys/${own.uid}`, { headers: h().admin.auth, body: { isActive: true } });
    await h().inject('DELETE', `/v1/apiKeys/${byAdmin.uid}`, { headers: user.auth });
    await h().createKey(h().admin, { name: 'for-other', userUid: other.uid });

    // The oracle: the tenant admin's whole log, filtered here.
    const everything = (await h().inject('GET', '/v1/audits?limit=1000', { headers: h().admin.auth })).json().items;
    const mine = everything.filter((a: any) => a.spec.actor.userUid === user.uid || a.spec.resource.ownerUid === user.uid);
    assert.ok(mine.length >= 8, 'the user has entries on both sides');
    assert.ok(mine.some((a: any) => a.spec.actor.userUid === user.uid && a.spec.resource.ownerUid === user.uid), 'and entries on both sides at once');

    for (const limit of [1000, 3, 1]) {
      const listed = await collect(h(), user, '', limit);
      assert.deepEqual(listed.uids, mine.map((a: any) => a.metadata.uid), `limit ${limit}: the same entries, once each, newest first`);
      assert.equal(listed.count, mine.length);
    }
    for (const resource of [own.uid, byAdmin.uid, second.uid]) {
      const expected = mine.filter((a: any) => a.spec.resource.uid === resource).map((a: any) => a.metadata.uid);
      assert.ok(expected.length > 0);
      for (const limit of [100, 1]) {
        const listed = await collect(h(), user, `&resourceUid=${resource}`, limit);
        assert.deepEqual(listed.uids, expected, `resource ${resource}, limit ${limit}`);
        assert.equal(listed.count, expected.length);
      }
    }
    const theirs = everything.filter((a: any) => a.spec.actor.userUid === other.uid || a.spec.resource.ownerUid === other.uid);
    assert.deepEqual((await collect(h(), other, '', 2)).uids, theirs.map((a: any) => a.metadata.uid), 'another user sees theirs only');
  });

  it("a plain user's listing and its count read the user's own index ranges, not the tenant's log (query plans, 20,000 entries)", async () => {
    const user = await h().createUser();
    await h().createKey(user, { name: 'planned' });
    await fillLog(h(), 20_000);
    const db = h().store.connection.db;
    await sql`analyze`.execute(db);
    const filters = [
      { tenantUid: h().tenantUid, involving: user.uid },
      { tenantUid: h().tenantUid, involving: user.uid, resourceUid: 'key-7' },
    ];
    for (const filter of filters) {
      for (const after of [undefined, { position: 1_000_000, uid: 'x' }]) {
        const { items, count } = h().store.audits.listQueries(filter, { limit: 100, after });
        const what = `${filter.resourceUid ? 'by resource' : 'all'}${after ? ', next page' : ''}`;
        await assertReadsOnlyOwnEntries(h(), items, `page, ${what}`);
        await assertReadsOnlyOwnEntries(h(), count, `count, ${what}`);
      }
    }
  });

  it('entries older than KEYWARD_AUDIT_RETENTION_DAYS are deleted by the pruner, in batches; 0 keeps them forever', async () => {
    const now = h().clock.now;
    const tenantEntries = async () => (await h().inject('GET', '/v1/audits?limit=1', { headers: h().admin.auth })).json().listmeta.count as number;
    const old = { at: now - 400 * DAY, actor: 'retention-old-' };
    const middle = { at: now - 40 * DAY, actor: 'retention-mid-' };
    await fillLog(h(), 2500, old);
    await fillLog(h(), 10, middle);
    const start = await tenantEntries();
    const count = async (prefix: string) =>
      Number((await sql<{ n: number }>`select count(*) as n from audits where actor_user_uid like ${`${prefix}%`}`.execute(h().store.connection.db)).rows[0].n);

    const withRetention = (days?: number) => createServices(h().store, { secret: SECRET, now: () => now, auditRetentionDays: days });
    await withRetention(0).prune();
    assert.equal(await tenantEntries(), start, '0 keeps everything');

    await withRetention(undefined).prune();
    assert.equal(await count(old.actor), 0, 'by default (365 days) a 400-day-old entry goes, past several batches');
    assert.equal(await count(middle.actor), 10, 'a 40-day-old one stays');
    assert.equal(await tenantEntries(), start - 2500);

    await withRetention(30).prune();
    assert.equal(await count(middle.actor), 0, 'with 30 days, the 40-day-old entries go too');
    assert.equal(await tenantEntries(), start - 2510, 'and nothing recent');
  });
});
