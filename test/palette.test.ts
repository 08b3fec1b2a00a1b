/** Palette compatibility: response shapes, and the quirks of Palette's clients. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
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

  it('the OpenAPI document and the docs page are served', async () => {
    const doc = await h().inject('GET', '/v1/openapi.json');
    assert.equal(doc.statusCode, 200);
    const paths = Object.keys(doc.json().paths);
    for (const p of ['/v1/apiKeys', '/v1/apiKeys/{uid}', '/v1/apiKeys/{uid}/state', '/v1/auth/authenticate', '/v1/users', '/v1/audits', '/v1/apiKeys/verify', '/v1/auth/check']) {
      assert.ok(paths.includes(p), `${p} is documented`);
    }
    const page = await h().inject('GET', '/docs/');
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /swagger/i);
  });
});
