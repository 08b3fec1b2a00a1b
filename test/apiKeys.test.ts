/** The API key lifecycle and every rule in the contract's "API key rules". */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { it } from 'node:test';
import { insertKeys } from './helpers/bulk.js';
import { createDatabase } from './helpers/databases.js';
import { DAY, eachDatabase, Harness, SECRET } from './helpers/harness.js';
import { assertPalette } from './helpers/palette.js';

eachDatabase('API keys: lifecycle', (h) => {
  it('creates a key, shows it once, lists and gets it without the key value', async () => {
    const user = await h().createUser();
    const res = await h().inject('POST', '/v1/apiKeys', {
      headers: user.auth,
      body: { metadata: { name: 'deploy', annotations: { description: 'for deploys' } }, spec: { expiry: h().expiryIn(7) } },
    });
    assert.equal(res.statusCode, 201);
    const { apiKey, uid } = res.json();
    assert.match(apiKey, /^kw_[0-9A-Za-z]{38}$/);
    assert.match(uid, /^[0-9a-f]{24}$/);

    const got = await h().inject('GET', `/v1/apiKeys/${uid}`, { headers: user.auth });
    assert.equal(got.statusCode, 200);
    const k = got.json();
    assert.equal(k.metadata.name, 'deploy');
    assert.equal(k.metadata.annotations.description, 'for deploys');
    assert.equal(k.spec.user.uid, user.uid);
    assert.equal(k.status.isActive, true);
    assert.equal(k.spec.expiry, h().expiryIn(7));
    const list = await h().inject('GET', '/v1/apiKeys', { headers: user.auth });
    for (const body of [got.body, list.body]) assert.ok(!body.includes(apiKey), 'the key never comes back after creation');
    assert.equal(await h().useKey(apiKey), 200);
  });

  it('a tenant admin creates a key for another user; the key acts as that user', async () => {
    const user = await h().createUser();
    const key = await h().createKey(h().admin, { userUid: user.uid });
    const info = await h().inject('GET', '/v1/users/info', { headers: { ApiKey: key.apiKey } });
    assert.equal(info.json().userUid, user.uid);
    const mine = await h().inject('GET', '/v1/apiKeys', { headers: user.auth });
    assert.ok(mine.json().items.some((k: any) => k.metadata.uid === key.uid));
  });

  it('edits name, description and expiry; the key keeps working and keeps its owner', async () => {
    const user = await h().createUser();
    const key = await h().createKey(user, { name: 'old-name' });
    const res = await h().inject('PUT', `/v1/apiKeys/${key.uid}`, {
      headers: user.auth,
      body: { metadata: { name: 'new-name', annotations: { description: 'new words' } }, spec: { expiry: h().expiryIn(60) } },
    });
    assert.equal(res.statusCode, 204);
    const k = (await h().inject('GET', `/v1/apiKeys/${key.uid}`, { headers: user.auth })).json();
    assert.equal(k.metadata.name, 'new-name');
    assert.equal(k.metadata.annotations.description, 'new words');
    assert.equal(k.spec.expiry, h().expiryIn(60));
    assert.equal(k.spec.user.uid, user.uid);
    assert.equal(await h().useKey(key.apiKey), 200);
  });

  it('deletes a key: it stops authenticating and is gone', async () => {
    const user = await h().createUser();
    const key = await h().createKey(user);
    assert.equal((await h().inject('DELETE', `/v1/apiKeys/${key.uid}`, { headers: user.auth })).statusCode, 204);
    assert.equal(await h().useKey(key.apiKey), 401);
    assert.equal((await h().inject('GET', `/v1/apiKeys/${key.uid}`, { headers: user.auth })).statusCode, 404);
    assert.equal((await h().inject('DELETE', `/v1/apiKeys/${key.uid}`, { headers: user.auth })).statusCode, 404);
  });

  it('lists page by page with limit and continue', async () => {
    const user = await h().createUser();
    const made = [];
    for (let i = 0; i < 5; i++) made.push((await h().createKey(user, { name: `page-${i}` })).uid);
    const seen: string[] = [];
    let next = '';
    do {
      const res = await h().inject('GET', `/v1/apiKeys?limit=2${next ? `&continue=${next}` : ''}`, { headers: user.auth });
      assert.equal(res.statusCode, 200);
      const body = res.json();
      assert.ok(body.items.length <= 2);
      assert.equal(body.listmeta.count, 5);
      seen.push(...body.items.map((k: any) => k.metadata.uid));
      next = body.listmeta.continue;
    } while (next);
    assert.deepEqual(seen.sort(), made.sort());
    const bad = await h().inject('GET', '/v1/apiKeys?continue=garbage', { headers: user.auth });
    assert.equal(bad.statusCode, 400);
  });

  it("pages with Palette's offset in a stable order, beside continue; continue wins when both are sent", async () => {
    const user = await h().createUser();
    // The harness clock stands still: every key has the same creation time, so the order rests on the tie-break.
    for (let i = 0; i < 7; i++) await h().createKey(user, { name: `offset-${i}` });
    const get = async (query: string) => {
      const res = await h().inject('GET', `/v1/apiKeys?${query}`, { headers: user.auth });
      assert.equal(res.statusCode, 200, `${query}: ${res.body}`);
      return res.json();
    };
    const all = (await get('limit=0')).items.map((k: any) => k.metadata.uid);
    assert.equal(all.length, 7);
    assert.deepEqual((await get('')).items.map((k: any) => k.metadata.uid), all, 'the same order without paging parameters');

    const byOffset: string[] = [];
    for (let offset = 0; offset < 7; ) {
      const page = await get(`limit=3&offset=${offset}`);
      byOffset.push(...page.items.map((k: any) => k.metadata.uid));
      assert.equal(page.listmeta.offset, Math.min(offset + 3, 7), 'listmeta.offset is the next index');
      assert.equal(page.listmeta.count, 7);
      assert.equal(page.listmeta.limit, 3);
      assert.equal(page.listmeta.continue === '', offset + 3 >= 7, 'continue is empty exactly on the last page');
      offset = page.listmeta.offset;
    }
    assert.deepEqual(byOffset, all, 'offset pages, put together, are the whole list in order');

    // Continue pages report the same next index, and a page found by continue equals the one found by offset.
    const first = await get('limit=3');
    assert.equal(first.listmeta.offset, 3);
    const second = await get(`limit=3&continue=${first.listmeta.continue}`);
    assert.deepEqual(second.items.map((k: any) => k.metadata.uid), all.slice(3, 6));
    assert.equal(second.listmeta.offset, 6);
    // Both sent: continue wins, whatever offset says.
    const both = await get(`limit=3&offset=0&continue=${first.listmeta.continue}`);
    assert.deepEqual(both.items.map((k: any) => k.metadata.uid), all.slice(3, 6));
    assert.equal(both.listmeta.offset, 6);
    // limit=0 with an offset: every key from there on.
    const rest = await get('limit=0&offset=5');
    assert.deepEqual(rest.items.map((k: any) => k.metadata.uid), all.slice(5));
    assert.equal(rest.listmeta.offset, 7);
    assert.equal(rest.listmeta.count, 7);
    const restAfter = await get(`limit=0&continue=${first.listmeta.continue}`);
    assert.deepEqual(restAfter.items.map((k: any) => k.metadata.uid), all.slice(3));
    assert.deepEqual(restAfter.listmeta, { continue: '', count: 7, limit: 0, offset: 7 });
    const nothingLeft = await get('limit=0&offset=50');
    assert.deepEqual(nothingLeft.listmeta, { continue: '', count: 7, limit: 0, offset: 50 });
    // Past the end: nothing, and the next index stays where it was asked.
    const past = await get('limit=3&offset=50');
    assert.deepEqual(past.items, []);
    assert.equal(past.listmeta.offset, 50);
    assert.equal(past.listmeta.continue, '');
    for (const bad of ['offset=-1', 'offset=abc', 'offset=1.5', 'offset=9999999999']) {
      const res = await h().inject('GET', `/v1/apiKeys?${bad}`, { headers: user.auth });
      assert.equal(res.statusCode, 400, bad);
      assert.equal(res.json().code, 'BadRequest');
    }
  });

  it('without paging parameters, the answer holds every visible key, past any page size', async () => {
    const owner = await h().createUser();
    const other = await h().createUser();
    const many = await insertKeys(h().store, { secret: SECRET, tenantUid: h().tenantUid, userUid: owner.uid, count: 1234, createdAt: h().clock.now });
    const theirs = await h().createKey(other, { name: 'not-the-owners' });

    const mine = await h().inject('GET', '/v1/apiKeys', { headers: owner.auth });
    assert.equal(mine.statusCode, 200);
    assert.match(String(mine.headers['content-type']), /^application\/json/);
    const body = mine.json();
    assertPalette('v1ApiKeys', body);
    assert.deepEqual(body.items.map((k: any) => k.metadata.uid).sort(), [...many].sort(), 'every key of the owner, and only theirs');
    assert.deepEqual(body.listmeta, { continue: '', count: 1234, limit: 0, offset: 1234 });
    for (const k of body.items.slice(0, 5)) assert.deepEqual(Object.keys(k).sort(), ['metadata', 'spec', 'status']);

    const tenant = (await h().inject('GET', '/v1/apiKeys', { headers: h().admin.auth })).json();
    assert.ok(tenant.items.length >= 1235, 'a tenant admin sees every key of the tenant');
    assert.equal(new Set(tenant.items.map((k: any) => k.metadata.uid)).size, tenant.items.length, 'no key twice');
    assert.ok(tenant.items.some((k: any) => k.metadata.uid === theirs.uid));
    const filtered = (await h().inject('GET', `/v1/apiKeys?userUid=${owner.uid}`, { headers: h().admin.auth })).json();
    assert.equal(filtered.items.length, 1234);
    // A plain user asking for another's keys still sees nothing.
    assert.deepEqual((await h().inject('GET', `/v1/apiKeys?userUid=${owner.uid}`, { headers: other.auth })).json().items, []);

    // Paging still pages when asked.
    const paged = (await h().inject('GET', '/v1/apiKeys?limit=1000', { headers: owner.auth })).json();
    assert.equal(paged.items.length, 1000);
    assert.notEqual(paged.listmeta.continue, '');
    const next = (await h().inject('GET', `/v1/apiKeys?continue=${paged.listmeta.continue}`, { headers: owner.auth })).json();
    assert.equal(next.items.length, 234);
    assert.deepEqual([...paged.items, ...next.items].map((k: any) => k.metadata.uid), body.items.map((k: any) => k.metadata.uid));
  });
});

eachDatabase('API keys: rules', (h) => {
  const create = (auth: Record<string, string>, metadata: unknown, spec: unknown) => h().inject('POST', '/v1/apiKeys', { headers: auth, body: { metadata, spec } });

  it('names: required, 1 to 64 characters, unique among the owner\'s keys (409)', async () => {
    const user = await h().createUser();
    const other = await h().createUser();
    const exp = { expiry: h().expiryIn(7) };
    assert.equal((await create(user.auth, { name: '' }, exp)).statusCode, 400);
    assert.equal((await create(user.auth, { name: '   ' }, exp)).statusCode, 400);
    assert.equal((await create(user.auth, {}, exp)).statusCode, 400);
    assert.equal((await create(user.auth, { name: 'x'.repeat(65) }, exp)).statusCode, 400);
    assert.equal((await create(user.auth, { name: 'x'.repeat(64) }, exp)).statusCode, 201);
    assert.equal((await create(user.auth, { name: 'dup' }, exp)).statusCode, 201);
    const again = await create(user.auth, { name: 'dup' }, exp);
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().code, 'Conflict');
    // Another owner may use the same name.
    assert.equal((await create(other.auth, { name: 'dup' }, exp)).statusCode, 201);
    // Renaming onto a taken name is a conflict too.
    const k = await h().createKey(user, { name: 'free' });
    const rename = await h().inject('PUT', `/v1/apiKeys/${k.uid}`, { headers: user.auth, body: { metadata: { name: 'dup' } } });
    assert.equal(rename.statusCode, 409);
  });

  it('description: at most 1,024 characters', async () => {
    const user = await h().createUser();
    const exp = { expiry: h().expiryIn(7) };
    assert.equal((await create(user.auth, { name: 'd1', annotations: { description: 'x'.repeat(1025) } }, exp)).statusCode, 400);
    assert.equal((await create(user.auth, { name: 'd2', annotations: { description: 'x'.repeat(1024) } }, exp)).statusCode, 201);
  });

  it('expiry: required, in the future, at most the maximum lifetime away, RFC 3339', async () => {
    const user = await h().createUser();
    const cases: [unknown, number][] = [
      [undefined, 400],
      [h().expiryIn(-1), 400],
      [new Date(h().clock.now).toISOString(), 400],
      [h().expiryIn(366), 400],
      ['next tuesday', 400],
      ['2030-13-45T00:00:00Z', 400],
      [12345, 400],
      [h().expiryIn(365), 201],
    ];
    for (const [expiry, status] of cases) {
      const res = await create(user.auth, { name: `exp-${Math.random()}` }, { expiry });
      assert.equal(res.statusCode, status, `expiry ${String(expiry)}`);
      if (status === 400) assert.equal(res.json().code, 'BadRequest');
    }
  });

  it('an expired key never authenticates and cannot be re-activated until its expiry is extended', async () => {
    const creator = await h().createUser();
    const key = await h().createKey(creator, { days: 1 });
    h().clock.now += 2 * DAY;
    try {
      // Two days on, the session token has expired too: sign in again.
      const user = await h().signIn(creator.email, creator.password);
      const res = await h().inject('GET', '/v1/users/info', { headers: { ApiKey: key.apiKey } });
      assert.equal(res.statusCode, 401);
      assert.equal(res.json().code, 'ApiKeyExpired');
      const k = (await h().inject('GET', `/v1/apiKeys/${key.uid}`, { headers: user.auth })).json();
      assert.equal(k.status.isExpired, true);

      // Revoke, then try to re-activate: refused with ApiKeyExpired, saying to extend the expiry.
      assert.equal((await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { isActive: false } })).statusCode, 204);
      const reactivate = await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { isActive: true } });
      assert.equal(reactivate.statusCode, 409);
      assert.equal(reactivate.json().code, 'ApiKeyExpired');
      assert.match(reactivate.json().message, /expir/i);
      assert.match(reactivate.json().message, /extend/i);

      // Extend the expiry, then re-activate: it works again.
      const extend = await h().inject('PUT', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { spec: { expiry: h().expiryIn(10) } } });
      assert.equal(extend.statusCode, 204);
      assert.equal(await h().useKey(key.apiKey), 401, 'still revoked');
      assert.equal((await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { isActive: true } })).statusCode, 204);
      assert.equal(await h().useKey(key.apiKey), 200);
    } finally {
      h().clock.now -= 2 * DAY;
    }
  });

  it('a key a tenant admin revoked can be re-activated only by a tenant admin', async () => {
    const user = await h().createUser();
    const key = await h().createKey(user);
    await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: h().admin.auth, body: { isActive: false } });
    const byOwner = await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { isActive: true } });
    assert.equal(byOwner.statusCode, 403);
    assert.equal(byOwner.json().code, 'Forbidden');
    assert.match(byOwner.json().message, /tenant admin/i);
    assert.equal(await h().useKey(key.apiKey), 401);
    assert.equal((await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: h().admin.auth, body: { isActive: true } })).statusCode, 204);
    assert.equal(await h().useKey(key.apiKey), 200);

    // A key its owner revoked, the owner may re-activate.
    await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { isActive: false } });
    assert.equal((await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { isActive: true } })).statusCode, 204);
    // An admin revoking a key the owner already revoked takes the lock over.
    await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { isActive: false } });
    await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: h().admin.auth, body: { isActive: false } });
    assert.equal((await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { isActive: true } })).statusCode, 403);
  });

  it('a key of a deleted user never authenticates again', async () => {
    const user = await h().createUser();
    const key = await h().createKey(user);
    assert.equal(await h().useKey(key.apiKey), 200);
    assert.equal((await h().inject('DELETE', `/v1/users/${user.uid}`, { headers: h().admin.auth })).statusCode, 204);
    assert.equal(await h().useKey(key.apiKey), 401);
    assert.equal((await h().inject('GET', '/v1/users/info', { headers: user.auth })).statusCode, 401, 'their session token dies too');
    assert.equal((await h().inject('GET', `/v1/apiKeys/${key.uid}`, { headers: h().admin.auth })).statusCode, 404);
  });

  it('spec.userUid: absent, own uid or tenant uid mean the caller; another user is admins only; another tenant is 404', async () => {
    const user = await h().createUser();
    const other = await h().createUser();
    const stranger = await h().createTenant(`t-${Date.now()}`);
    const exp = h().expiryIn(7);
    for (const userUid of [undefined, user.uid, user.tenantUid]) {
      const res = await create(user.auth, { name: `mine-${Math.random()}` }, { expiry: exp, userUid });
      assert.equal(res.statusCode, 201);
      const k = (await h().inject('GET', `/v1/apiKeys/${res.json().uid}`, { headers: user.auth })).json();
      assert.equal(k.spec.user.uid, user.uid);
    }
    assert.equal((await create(user.auth, { name: 'for-other' }, { expiry: exp, userUid: other.uid })).statusCode, 403);
    assert.equal((await create(h().admin.auth, { name: 'for-other' }, { expiry: exp, userUid: other.uid })).statusCode, 201);
    const cross = await create(h().admin.auth, { name: 'for-stranger' }, { expiry: exp, userUid: stranger.uid });
    assert.equal(cross.statusCode, 404);
    assert.equal(cross.json().code, 'ResourceNotFound');
    assert.equal((await create(h().admin.auth, { name: 'for-nobody' }, { expiry: exp, userUid: 'ffffffffffffffffffffffff' })).statusCode, 404);
  });

  it('the maximum lifetime follows KEYWARD_MAX_KEY_LIFETIME_DAYS', async () => {
    const short = await Harness.start(await createDatabase(h().db.name), { maxKeyLifetimeDays: 10 });
    try {
      const ok = await short.inject('POST', '/v1/apiKeys', { headers: short.admin.auth, body: { metadata: { name: 'a' }, spec: { expiry: short.expiryIn(10) } } });
      assert.equal(ok.statusCode, 201);
      const tooLong = await short.inject('POST', '/v1/apiKeys', { headers: short.admin.auth, body: { metadata: { name: 'b' }, spec: { expiry: short.expiryIn(11) } } });
      assert.equal(tooLong.statusCode, 400);
      assert.match(tooLong.json().message, /10 days/);
    } finally {
      await short.close();
      await short.db.drop();
    }
  });
});

eachDatabase('API keys: storage', (h) => {
  it('stores a key only as its HMAC: the key is in no table, and not in the SQLite files', async () => {
    const { apiKey, uid } = await h().createKey(h().admin, { name: 'stored-safely' });
    await h().useKey(apiKey);
    await h().services.lastUsed.flush();
    const db = h().store.connection.db;
    for (const table of ['tenants', 'users', 'api_keys', 'audits', 'sign_in_attempts', 'sessions', 'credential_failures'] as const) {
      const rows = await db.selectFrom(table).selectAll().execute();
      assert.ok(!JSON.stringify(rows).includes(apiKey), `${table} does not hold the key`);
      assert.ok(!JSON.stringify(rows).includes(apiKey.slice(3, 35)), `${table} does not hold its random part`);
    }
    const row = await db.selectFrom('api_keys').select(['hash', 'start']).where('uid', '=', uid).executeTakeFirstOrThrow();
    assert.match(row.hash, /^[0-9a-f]{64}$/);
    assert.equal(row.start, apiKey.slice(0, 7));
    if (h().db.name === 'sqlite') {
      const path = h().db.url.slice('sqlite:'.length);
      for (const file of [path, `${path}-wal`]) {
        if (existsSync(file)) assert.ok(!readFileSync(file).includes(apiKey.slice(3, 35)), `${file} does not hold the key`);
      }
    }
  });
});
