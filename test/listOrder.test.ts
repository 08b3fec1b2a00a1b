/**
 * Newest first on request: `orderBy=metadata.creationTimestamp=-1` on GET /v1/apiKeys and
 * GET /v1/users (Palette's orderBy syntax), paged by `continue`, `offset` and `limit=0` exactly
 * as the default oldest-first order is, and read along the same indexes without a sort.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { CompiledQuery, sql } from 'kysely';
import { insertKeys, insertUsers } from './helpers/bulk.js';
import { type Caller, eachDatabase, type Harness, SECRET } from './helpers/harness.js';
import { assertPalette } from './helpers/palette.js';
import type { Store } from '../src/store/store.js';

const NEWEST = 'orderBy=metadata.creationTimestamp=-1';

async function get(h: Harness, who: Caller, path: string) {
  const res = await h.inject('GET', path, { headers: who.auth });
  assert.equal(res.statusCode, 200, `${path}: ${res.body}`);
  return res.json();
}

const uids = (body: any): string[] => body.items.map((x: any) => x.metadata.uid);

/** `path` with more query parameters (empty ones left out). */
const url = (path: string, ...params: string[]) => {
  const query = params.filter(Boolean).join('&');
  return query ? `${path}${path.includes('?') ? '&' : '?'}${query}` : path;
};

/** Reads a whole listing a page at a time by `continue`, checking each page's listmeta.offset. */
async function byContinue(h: Harness, who: Caller, path: string, order: string, limit: number) {
  const seen: string[] = [];
  let next = '';
  do {
    const body = await get(h, who, url(path, order, `limit=${limit}`, next && `continue=${next}`));
    seen.push(...uids(body));
    assert.equal(body.listmeta.offset, seen.length, 'listmeta.offset is the index of the next row');
    next = body.listmeta.continue;
  } while (next);
  return seen;
}

async function byOffset(h: Harness, who: Caller, path: string, order: string, limit: number, total: number) {
  const seen: string[] = [];
  for (let offset = 0; offset < total; ) {
    const body = await get(h, who, url(path, order, `limit=${limit}`, `offset=${offset}`));
    seen.push(...uids(body));
    assert.equal(body.listmeta.count, total);
    offset = body.listmeta.offset;
  }
  return seen;
}

/**
 * Checks one listing in both orders: newest first is oldest first reversed, whole (limit=0, and
 * for keys with no paging parameters), by continue and by offset; continue wins over offset;
 * a token only answers a request in its own order.
 */
async function assertBothOrders(h: Harness, who: Caller, path: string, expectedCount: number, schema: 'v1ApiKeys' | 'v1Users') {
  const oldest = uids(await get(h, who, url(path, 'limit=0')));
  assert.equal(oldest.length, expectedCount);
  const newest = [...oldest].reverse();
  const whole = await get(h, who, url(path, NEWEST, 'limit=0'));
  assertPalette(schema, whole);
  assert.deepEqual(uids(whole), newest, 'limit=0 newest first is the default order reversed');
  assert.deepEqual(whole.listmeta, { continue: '', count: expectedCount, limit: 0, offset: expectedCount });
  assert.deepEqual(uids(await get(h, who, url(path, 'orderBy=metadata.creationTimestamp=1', 'limit=0'))), oldest, '=1 is the default order');
  assert.deepEqual(uids(await get(h, who, url(path, 'orderBy=metadata.creationTimestamp', 'limit=0'))), oldest, 'no direction means ascending');

  assert.deepEqual(await byContinue(h, who, path, NEWEST, 3), newest, 'continue pages, newest first');
  assert.deepEqual(await byOffset(h, who, path, NEWEST, 4, expectedCount), newest, 'offset pages, newest first');
  assert.deepEqual(await byContinue(h, who, path, '', 3), oldest, 'the default order still pages as before');

  const first = await get(h, who, url(path, NEWEST, 'limit=3'));
  const both = await get(h, who, url(path, NEWEST, 'limit=3', 'offset=0', `continue=${first.listmeta.continue}`));
  assert.deepEqual(uids(both), newest.slice(3, 6), 'continue wins over offset');
  assert.equal(both.listmeta.offset, 6);
  const rest = await get(h, who, url(path, NEWEST, 'limit=0', `continue=${first.listmeta.continue}`));
  assert.deepEqual(uids(rest), newest.slice(3));
  assert.deepEqual(rest.listmeta, { continue: '', count: expectedCount, limit: 0, offset: expectedCount });

  // A token from one order, sent with the other, is refused: its position means other rows there.
  const oldestFirst = await get(h, who, url(path, 'limit=3'));
  for (const [order, token] of [
    ['', first.listmeta.continue],
    [NEWEST, oldestFirst.listmeta.continue],
  ]) {
    const res = await h.inject('GET', url(path, order, 'limit=3', `continue=${token}`), { headers: who.auth });
    assert.equal(res.statusCode, 400, `${order || 'default order'}: ${res.body}`);
    assert.equal(res.json().code, 'BadRequest');
    assert.match(res.json().message, /other order/);
    assert.equal(res.json().details.field, 'continue');
  }
}

/** Bad orderBy values: 400 in Palette's v1Error, naming what is accepted. */
async function assertBadOrderRefused(h: Harness, who: Caller, path: string) {
  for (const bad of ['metadata.name=1', 'metadata.creationTimestamp=2', 'metadata.creationTimestamp=-1,metadata.uid=1', '', 'x'.repeat(300)]) {
    const res = await h.inject('GET', url(path, `orderBy=${encodeURIComponent(bad)}`), { headers: who.auth });
    assert.equal(res.statusCode, 400, `orderBy=${bad}: ${res.body}`);
    const body = res.json();
    assert.deepEqual(Object.keys(body).sort(), ['code', 'details', 'message', 'ref']);
    assert.equal(body.code, 'BadRequest');
    assert.match(body.message, /orderBy must be one of "metadata\.creationTimestamp", "metadata\.creationTimestamp=1", "metadata\.creationTimestamp=-1"/);
  }
  const twice = await h.inject('GET', url(path, NEWEST, NEWEST), { headers: who.auth });
  assert.equal(twice.statusCode, 400);
}

eachDatabase('lists newest first on request', (h) => {
  it('GET /v1/apiKeys: newest first by continue, offset, limit=0 and unpaged, for the owner and for a tenant admin', async () => {
    const owner = await h().createUser();
    const other = await h().createUser();
    const made: string[] = [];
    // Creation times that tie and times that differ: the order rests on both parts.
    for (let i = 0; i < 8; i++) {
      if (i % 3 === 0) h().clock.now += 1000;
      made.push((await h().createKey(owner, { name: `order-${i}` })).uid);
    }
    h().clock.now += 1000;
    await h().createKey(other, { name: 'others' });

    await assertBothOrders(h(), owner, '/v1/apiKeys', 8, 'v1ApiKeys');
    await assertBothOrders(h(), h().admin, `/v1/apiKeys?userUid=${owner.uid}`, 8, 'v1ApiKeys');
    const unpaged = await get(h(), owner, `/v1/apiKeys?${NEWEST}`);
    assert.deepEqual(uids(unpaged), uids(await get(h(), owner, `/v1/apiKeys?${NEWEST}&limit=0`)), 'the unpaged answer keeps the order too');
    assert.deepEqual(new Set(uids(unpaged)), new Set(made));

    // The tenant's whole list: the other user's key, made last, comes first.
    const tenant = await get(h(), h().admin, `/v1/apiKeys?${NEWEST}&limit=1`);
    assert.equal(tenant.items[0].metadata.name, 'others');
    await assertBadOrderRefused(h(), owner, '/v1/apiKeys');
  });

  it('a key made while a reader pages newest first is not read twice, and no key is skipped', async () => {
    const owner = await h().createUser();
    for (let i = 0; i < 6; i++) {
      h().clock.now += 10;
      await h().createKey(owner, { name: `moving-${i}` });
    }
    const before = uids(await get(h(), owner, `/v1/apiKeys?${NEWEST}&limit=0`));
    const first = await get(h(), owner, `/v1/apiKeys?${NEWEST}&limit=2`);
    h().clock.now += 10;
    const added = await h().createKey(owner, { name: 'moving-new' });
    const rest = await get(h(), owner, `/v1/apiKeys?${NEWEST}&limit=0&continue=${first.listmeta.continue}`);
    assert.deepEqual([...uids(first), ...uids(rest)], before, 'the pages after the token are the rows after it, whatever came since');
    assert.equal(rest.listmeta.count, 7, 'the count says what there is now');
    const now = await get(h(), owner, `/v1/apiKeys?${NEWEST}&limit=1`);
    assert.equal(now.items[0].metadata.uid, added.uid, 'a new key is at the top of the first page');
  });

  it('GET /v1/users: newest first by continue, offset and limit=0; a new user is at the top', async () => {
    const admin = await h().createTenant(`order-users-${Date.now()}`);
    // Two groups of creation times, each group tied.
    await insertUsers(h().store, { tenantUid: admin.tenantUid, count: 5, createdAt: h().clock.now + 10, prefix: 'order-a' });
    await insertUsers(h().store, { tenantUid: admin.tenantUid, count: 4, createdAt: h().clock.now + 20, prefix: 'order-b' });
    await assertBothOrders(h(), admin, '/v1/users', 10, 'v1Users');
    await assertBadOrderRefused(h(), admin, '/v1/users');

    h().clock.now += 60_000;
    const made = await h().inject('POST', '/v1/users', { headers: admin.auth, body: { spec: { emailId: `newest-${Date.now()}@example.com` } } });
    assert.equal(made.statusCode, 201);
    const top = await get(h(), admin, `/v1/users?${NEWEST}&limit=1`);
    assert.equal(top.items[0].metadata.uid, made.json().uid);
    assert.equal(top.listmeta.count, 11);
  });

  it('newest first is read along the indexes, with no sort, on both databases', async () => {
    const heavy = await h().createUser();
    const light = await h().createUser();
    const t0 = h().clock.now;
    // Enough rows, spread over many creation times, that a planner would rather sort if it could.
    for (let batch = 0; batch < 6; batch++) {
      await insertKeys(h().store, { secret: SECRET, tenantUid: h().tenantUid, userUid: heavy.uid, count: 500, createdAt: t0 + batch * 1000, prefix: `plan-h${batch}` });
      await insertKeys(h().store, { secret: SECRET, tenantUid: h().tenantUid, userUid: light.uid, count: 50, createdAt: t0 + batch * 1000 + 1, prefix: `plan-l${batch}` });
    }
    await insertUsers(h().store, { tenantUid: h().tenantUid, count: 3000, createdAt: t0 + 5, prefix: 'plan' });
    await sql`analyze`.execute(h().store.connection.db);

    const after = { position: t0 + 3000, uid: 'm' };
    for (const order of ['desc', 'asc'] as const) {
      for (const page of [{ limit: 50, order }, { limit: 50, order, after }, { limit: 50, order, offset: 100 }]) {
        const what = `${order}${page.after ? ', after a position' : ''}${'offset' in page ? ', at an offset' : ''}`;
        // A user with few keys may be sorted: the planner may rather sort 300 rows than walk an index.
        for (const filter of [{ tenantUid: h().tenantUid }, { tenantUid: h().tenantUid, userUid: heavy.uid }]) {
          const plan = await planOf(h().db.name, h().store, h().store.apiKeys.pageQuery(filter, page).compile());
          assertIndexOrder(plan, 'api_keys', `keys ${filter.userUid ? 'of a user' : 'of the tenant'}, ${what}`);
        }
        const plan = await planOf(h().db.name, h().store, h().store.users.pageQuery({ tenantUid: h().tenantUid }, page).compile());
        assertIndexOrder(plan, 'users', `users, ${what}`);
      }
    }
  });
});

interface Plan {
  /** Every step of the plan, as text. */
  steps: string[];
  /** How each table is read. */
  reads: { table: string; how: string; index?: string }[];
}

async function planOf(database: 'sqlite' | 'postgres', store: Store, query: CompiledQuery): Promise<Plan> {
  const db = store.connection.db;
  if (database === 'sqlite') {
    const rows = (await db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${query.sql}`, [...query.parameters]))).rows;
    const steps = rows.map((r) => r.detail);
    const reads = steps
      .map((d) => d.match(/^(SCAN|SEARCH) (\w+)(?: USING (?:COVERING )?(?:INDEX (\w+)|INTEGER PRIMARY KEY))?/))
      .filter((m): m is RegExpMatchArray => m !== null)
      .map((m) => ({ table: m[2], how: m[1], index: m[3] }));
    return { steps, reads };
  }
  const rows = (await db.executeQuery<{ 'QUERY PLAN': any }>(CompiledQuery.raw(`explain (format json) ${query.sql}`, [...query.parameters]))).rows;
  const steps: string[] = [];
  const reads: Plan['reads'] = [];
  const walk = (node: any) => {
    steps.push(`${node['Node Type']}${node['Scan Direction'] ? ` ${node['Scan Direction']}` : ''}${node['Index Name'] ? ` using ${node['Index Name']}` : ''}`);
    if (node['Relation Name']) reads.push({ table: node['Relation Name'], how: node['Node Type'], index: node['Index Name'] });
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(rows[0]['QUERY PLAN'][0].Plan);
  return { steps, reads };
}

/** The table is read along one of its (…, created_at, uid) indexes, and nothing is sorted. */
function assertIndexOrder(plan: Plan, table: 'api_keys' | 'users', what: string) {
  const steps = plan.steps.join(' | ');
  assert.ok(!plan.steps.some((s) => /TEMP B-TREE|Sort/i.test(s)), `${what}: no sort (${steps})`);
  const read = plan.reads.find((r) => r.table === table);
  const indexes = table === 'api_keys' ? ['api_keys_tenant_created', 'api_keys_user_created'] : ['users_tenant_created'];
  assert.ok(read?.index && indexes.includes(read.index), `${what}: ${table} read by ${indexes.join(' or ')} (${steps})`);
}
