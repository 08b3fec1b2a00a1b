/** Palette compatibility: response shapes, and the quirks of Palette's clients. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { insertUsers } from './helpers/bulk.js';
import { eachDatabase } from './helpers/harness.js';
import { assertPalette } from './helpers/palette.js';

eachDatabase('Palette compatibility', (h) => {
  it('responses validate against Palette\'s schema', async () => {
    const admin = h().admin;
    const user = await h().createUser();
    const created = await h().inject('POST', '/v1/apiKeys', {
      headers: user.auth,
      body: { metadata: { name: 'schema', annotations: { description: 'd' } }, spec: { expiry: h().expiryIn(30) } },
    });
    assertPalette('v1ApiKeyCreateResponse', created.json());
    const { uid, apiKey } = created.json();
    await h().inject('PATCH', `/v1/apiKeys/${uid}`, { headers: user.auth, body: { isActive: false } });
    assertPalette('v1ApiKey', (await h().inject('GET', `/v1/apiKeys/${uid}`, { headers: user.auth })).json());
    const list = (await h().inject('GET', '/v1/apiKeys', { headers: admin.auth })).json();
    assert.ok(list.items.length >= 1);
    assertPalette('v1ApiKeys', list);
    assertPalette('v1UserInfo', (await h().inject('GET', '/v1/users/info', { headers: admin.auth })).json());
    assertPalette('v1Users', (await h().inject('GET', '/v1/users', { headers: admin.auth })).json());
    assertPalette('v1User', (await h().inject('GET', `/v1/users/${user.uid}`, { headers: admin.auth })).json());
    const token = await h().inject('POST', '/v1/auth/authenticate', { body: { emailId: user.email, password: user.password } });
    assertPalette('v1UserToken', token.json());
    for (const res of [
      await h().inject('GET', '/v1/apiKeys/nope', { headers: user.auth }),
      await h().inject('GET', '/v1/apiKeys', {}),
      await h().inject('GET', '/v1/users/info', { headers: { ApiKey: apiKey } }),
      await h().inject('POST', '/v1/apiKeys', { headers: user.auth, body: { metadata: {} } }),
    ]) {
      assert.ok(res.statusCode >= 400);
      assertPalette('v1Error', res.json());
      assert.equal(res.json().ref, res.headers['x-request-id']);
    }
  });

  it('the ApiKey header works in any case, and as ?ApiKey=', async () => {
    const key = await h().createKey(h().admin);
    for (const name of ['ApiKey', 'apiKey', 'apikey', 'APIKEY']) {
      const res = await h().inject('GET', '/v1/users/info', { headers: { [name]: key.apiKey } });
      assert.equal(res.statusCode, 200, name);
    }
    assert.equal((await h().inject('GET', `/v1/users/info?ApiKey=${key.apiKey}`)).statusCode, 200);
    assert.equal((await h().inject('GET', `/v1/users/info?apikey=${key.apiKey}`)).statusCode, 200);
    assert.equal((await h().inject('GET', '/v1/users/info?ApiKey=kw_nonsense')).statusCode, 401);
  });

  it('Authorization works raw and with Bearer; a token refreshes', async () => {
    const { token } = h().admin;
    assert.equal((await h().inject('GET', '/v1/users/info', { headers: { Authorization: token } })).statusCode, 200);
    assert.equal((await h().inject('GET', '/v1/users/info', { headers: { Authorization: `Bearer ${token}` } })).statusCode, 200);
    assert.equal((await h().inject('GET', '/v1/users/info', { headers: { Authorization: `bearer ${token}` } })).statusCode, 200);
    assert.equal((await h().inject('GET', '/v1/users/info', { headers: { Authorization: `${token}x` } })).statusCode, 401);
    const refreshed = await h().inject('GET', `/v1/auth/refresh/${token}`);
    assert.equal(refreshed.statusCode, 200);
    assert.equal((await h().inject('GET', '/v1/users/info', { headers: { Authorization: refreshed.json().Authorization } })).statusCode, 200);
    assert.equal((await h().inject('GET', '/v1/auth/refresh/not-a-token')).statusCode, 401);
  });

  it('a token expires after 15 minutes, and an expired one cannot be refreshed', async () => {
    const user = await h().createUser();
    h().clock.now += 15 * 60 * 1000 + 1000;
    try {
      const res = await h().inject('GET', '/v1/users/info', { headers: user.auth });
      assert.equal(res.statusCode, 401);
      assert.equal((await h().inject('GET', `/v1/auth/refresh/${user.token}`)).statusCode, 401);
    } finally {
      h().clock.now -= 15 * 60 * 1000 + 1000;
    }
  });

  it('with both an API key and a token, the API key wins', async () => {
    const user = await h().createUser();
    const key = await h().createKey(user);
    const info = await h().inject('GET', '/v1/users/info', { headers: { ApiKey: key.apiKey, Authorization: h().admin.token } });
    assert.equal(info.json().userUid, user.uid);
    await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { isActive: false } });
    const revoked = await h().inject('GET', '/v1/users/info', { headers: { ApiKey: key.apiKey, Authorization: h().admin.token } });
    assert.equal(revoked.statusCode, 401, 'a revoked key is not rescued by a valid token');
  });

  it("revokes with {} (the Go SDK's body) via PATCH and PUT .../state; an empty body or null revokes nothing", async () => {
    const user = await h().createUser();
    for (const [method, suffix] of [['PATCH', ''], ['PUT', '/state']]) {
      const key = await h().createKey(user, { name: `go-sdk-${method}` });
      const res = await h().inject(method, `/v1/apiKeys/${key.uid}${suffix}`, { headers: { ...user.auth, 'content-type': 'application/json' }, payload: '{}' });
      assert.equal(res.statusCode, 204, `${method} with {}: ${res.body}`);
      assert.equal(await h().useKey(key.apiKey), 401);
    }
    const bodies: { payload?: string; headers?: Record<string, string> }[] = [
      { payload: '', headers: { 'content-type': 'application/json' } },
      { payload: 'null', headers: { 'content-type': 'application/json' } },
      {},
    ];
    for (const [i, b] of bodies.entries()) {
      for (const [method, suffix] of [['PATCH', ''], ['PUT', '/state']]) {
        const key = await h().createKey(user, { name: `not-a-revoke-${i}-${method}` });
        const res = await h().inject(method, `/v1/apiKeys/${key.uid}${suffix}`, { headers: { ...user.auth, ...b.headers }, payload: b.payload });
        assert.equal(res.statusCode, 400, `${method} with ${JSON.stringify(b)}: ${res.body}`);
        assert.equal(await h().useKey(key.apiKey), 200);
      }
    }
  });

  it('DELETE with Content-Type: application/json and no body works', async () => {
    const key = await h().createKey(h().admin);
    const res = await h().inject('DELETE', `/v1/apiKeys/${key.uid}`, { headers: { ...h().admin.auth, 'content-type': 'application/json' } });
    assert.equal(res.statusCode, 204);
  });

  it("GET /v1/users?limit=0 answers every user at once, as Palette's Go SDK (GetUsers, GetUserByEmail...) reads it", async () => {
    const admin = await h().createTenant(`many-users-${Date.now()}`);
    const inserted = await insertUsers(h().store, { tenantUid: admin.tenantUid, count: 1050, createdAt: h().clock.now });
    const all = await h().inject('GET', '/v1/users?limit=0', { headers: admin.auth });
    assert.equal(all.statusCode, 200);
    const body = all.json();
    assertPalette('v1Users', body);
    assert.equal(body.items.length, 1051, 'the tenant admin and every inserted user');
    assert.deepEqual(body.listmeta, { continue: '', count: 1051, limit: 0, offset: 1051 });
    const uids = new Set(body.items.map((u: any) => u.metadata.uid));
    assert.ok(inserted.every((uid) => uids.has(uid)));
    assert.ok(uids.has(admin.uid));
    // What the SDK's GetUserByEmail does with the answer: find one user among all of them.
    assert.ok(body.items.some((u: any) => u.spec.emailId === `bulk-1049-${inserted[1049].slice(0, 6)}@example.com`));
    // Without limit, the default page still applies, and says there is more.
    const page = (await h().inject('GET', '/v1/users', { headers: admin.auth })).json();
    assert.equal(page.items.length, 1000);
    assert.notEqual(page.listmeta.continue, '');
    assert.equal(page.listmeta.offset, 1000);
  });

  it("GET /v1/users pages with Palette's offset in a stable order; continue wins over offset", async () => {
    const admin = await h().createTenant(`offset-users-${Date.now()}`);
    // One creation time for all: the order must rest on a tie-break that does not move between pages.
    await insertUsers(h().store, { tenantUid: admin.tenantUid, count: 9, createdAt: h().clock.now + 1 });
    const get = async (query: string) => {
      const res = await h().inject('GET', `/v1/users?${query}`, { headers: admin.auth });
      assert.equal(res.statusCode, 200, `${query}: ${res.body}`);
      assertPalette('v1Users', res.json());
      return res.json();
    };
    const all = (await get('limit=0')).items.map((u: any) => u.metadata.uid);
    assert.equal(all.length, 10);
    const seen: string[] = [];
    let offset = 0;
    do {
      const page = await get(`limit=4&offset=${offset}`);
      assert.equal(page.listmeta.count, 10);
      assert.equal(page.listmeta.offset, Math.min(offset + 4, 10));
      seen.push(...page.items.map((u: any) => u.metadata.uid));
      offset = page.listmeta.offset;
    } while (offset < 10);
    assert.deepEqual(seen, all);
    // Mixed: a continue page reports the next index, and continue wins when both are sent.
    const first = await get('limit=4');
    const both = await get(`limit=4&offset=8&continue=${first.listmeta.continue}`);
    assert.deepEqual(both.items.map((u: any) => u.metadata.uid), all.slice(4, 8));
    assert.equal(both.listmeta.offset, 8);
    assert.deepEqual((await get('limit=0&offset=7')).items.map((u: any) => u.metadata.uid), all.slice(7));
    assert.equal((await h().inject('GET', '/v1/users?offset=x', { headers: admin.auth })).statusCode, 400);
  });

  it('the OpenAPI document and the docs page are served', async () => {
    const doc = await h().inject('GET', '/v1/openapi.json');
    assert.equal(doc.statusCode, 200);
    const paths = Object.keys(doc.json().paths);
    for (const p of ['/v1/apiKeys', '/v1/apiKeys/{uid}', '/v1/apiKeys/{uid}/state', '/v1/auth/authenticate', '/v1/users', '/v1/audits', '/v1/apiKeys/verify', '/v1/auth/check']) {
      assert.ok(paths.includes(p), `${p} is documented`);
    }
    const user = doc.json().paths['/v1/users/{uid}'];
    for (const method of ['get', 'put', 'patch', 'delete']) assert.ok(user[method], `${method.toUpperCase()} /v1/users/{uid} is documented`);
    const page = await h().inject('GET', '/docs/');
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /swagger/i);
  });
});
