/** Bad input of any shape gets a clear 4xx with Palette's error body, and changes nothing. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { eachDatabase } from './helpers/harness.js';
import { assertV1ErrorBody } from './helpers/palette.js';

eachDatabase('bad input', (h) => {
  const expectError = (res: { statusCode: number; body: string }, status: number, code: string) => {
    assert.equal(res.statusCode, status);
    const body = assertV1ErrorBody(res.body);
    assert.equal(body.code, code);
    assert.ok(body.message.length > 0);
  };

  it('malformed bodies, wrong types and odd content types', async () => {
    const user = await h().createUser();
    const key = await h().createKey(user);
    const auth = user.auth;
    const json = { 'content-type': 'application/json' };
    expectError(await h().inject('POST', '/v1/apiKeys', { headers: { ...auth, ...json }, payload: '{"metadata": ' }), 400, 'BadRequest');
    expectError(await h().inject('POST', '/v1/apiKeys', { headers: { ...auth, ...json }, payload: '[]' }), 400, 'BadRequest');
    expectError(await h().inject('POST', '/v1/apiKeys', { headers: { ...auth, ...json }, payload: '"text"' }), 400, 'BadRequest');
    expectError(await h().inject('POST', '/v1/apiKeys', { headers: { ...auth, ...json }, payload: 'null' }), 400, 'BadRequest');
    expectError(await h().inject('POST', '/v1/apiKeys', { headers: auth, body: { metadata: { name: 5 }, spec: { expiry: h().expiryIn(1) } } }), 400, 'BadRequest');
    expectError(await h().inject('POST', '/v1/apiKeys', { headers: { ...auth, 'content-type': 'text/plain' }, payload: 'hello' }), 415, 'UnsupportedMediaType');
    expectError(await h().inject('POST', '/v1/apiKeys', { headers: { ...auth, ...json }, payload: JSON.stringify({ metadata: { name: 'x'.repeat(100_000) } }) }), 413, 'PayloadTooLarge');
    // "false" as a string must not revoke: wrong types are refused, not coerced.
    expectError(await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: auth, body: { isActive: 'false' } }), 400, 'BadRequest');
    expectError(await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: auth, body: { isActive: 0 } }), 400, 'BadRequest');
    expectError(await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: { ...auth, ...json }, payload: '[true]' }), 400, 'BadRequest');
    assert.equal(await h().useKey(key.apiKey), 200, 'nothing was revoked');
    // Prototype pollution attempts are refused by the JSON parser.
    expectError(await h().inject('POST', '/v1/apiKeys', { headers: { ...auth, ...json }, payload: '{"__proto__": {"x": 1}, "metadata": {"name": "p"}}' }), 400, 'BadRequest');
    expectError(await h().inject('GET', '/v1/apiKeys?limit=abc', { headers: auth }), 400, 'BadRequest');
    expectError(await h().inject('GET', '/v1/apiKeys?limit=-1', { headers: auth }), 400, 'BadRequest');
  });

  it('unknown paths and methods, and garbage uids', async () => {
    const auth = h().admin.auth;
    expectError(await h().inject('GET', '/v1/nothing-here', { headers: auth }), 404, 'ResourceNotFound');
    expectError(await h().inject('POST', '/v1/apiKeys/abc/def', { headers: auth }), 404, 'ResourceNotFound');
    expectError(await h().inject('GET', `/v1/apiKeys/${'a'.repeat(200)}`, { headers: auth }), 400, 'BadRequest');
    for (const uid of ['%00', "'%20or%201=1--", '..%2F..%2Fetc', '%F0%9F%94%91']) {
      const res = await h().inject('GET', `/v1/apiKeys/${uid}`, { headers: auth });
      assert.ok([400, 404].includes(res.statusCode), `${uid}: ${res.statusCode}`);
    }
  });

  it('malformed and near-valid keys and tokens get 401, never 5xx', async () => {
    const { apiKey } = await h().createKey(h().admin);
    const flipped = apiKey.slice(0, 10) + (apiKey[10] === 'a' ? 'b' : 'a') + apiKey.slice(11);
    const candidates = ['', ' ', 'kw_', apiKey.slice(0, -1), `${apiKey}x`, flipped, apiKey.toLowerCase(), 'x'.repeat(5000), '\u00e9\u00e9', `${apiKey.slice(0, -6)}000000`];
    for (const candidate of candidates) {
      const res = await h().inject('GET', '/v1/users/info', { headers: { ApiKey: candidate } });
      assert.equal(res.statusCode, 401, JSON.stringify(candidate.slice(0, 20)));
      assert.equal(res.json().code, 'Unauthorized');
    }
    for (const token of ['Bearer', 'Bearer ', 'a.b.c', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', 'Basic dXNlcjpwYXNz']) {
      const res = await h().inject('GET', '/v1/users/info', { headers: { Authorization: token } });
      assert.equal(res.statusCode, 401, token);
    }
    expectError(await h().inject('GET', '/v1/apiKeys'), 401, 'Unauthorized');
  });
});

eachDatabase('verify service and forward auth', (h) => {
  it('POST /v1/apiKeys/verify says why a key is not valid, and hides other tenants\' keys', async () => {
    const user = await h().createUser();
    const key = await h().createKey(user, { days: 2 });
    const verify = async (k: string) => (await h().inject('POST', '/v1/apiKeys/verify', { headers: h().admin.auth, body: { key: k } })).json();
    const valid = await verify(key.apiKey);
    assert.deepEqual(
      { valid: valid.valid, code: valid.code, keyUid: valid.keyUid, userUid: valid.userUid, tenantUid: valid.tenantUid },
      { valid: true, code: 'VALID', keyUid: key.uid, userUid: user.uid, tenantUid: h().tenantUid },
    );
    assert.equal(valid.expiry, h().expiryIn(2));
    assert.equal((await verify('kw_garbage')).code, 'NOT_FOUND');
    await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { isActive: false } });
    assert.deepEqual([(await verify(key.apiKey)).valid, (await verify(key.apiKey)).code], [false, 'INACTIVE']);
    h().clock.now += 3 * 86_400_000;
    try {
      const admin = await h().signIn(h().admin.email, h().admin.password);
      const expired = (await h().inject('POST', '/v1/apiKeys/verify', { headers: admin.auth, body: { key: key.apiKey } })).json();
      assert.equal(expired.code, 'EXPIRED');
    } finally {
      h().clock.now -= 3 * 86_400_000;
    }
    const foreign = await h().createTenant('verify-other');
    const foreignKey = await h().createKey(foreign);
    const cross = await verify(foreignKey.apiKey);
    assert.deepEqual(cross, { valid: false, code: 'NOT_FOUND' });
  });

  it('GET /v1/auth/check answers 200 with the owner in headers, or 401', async () => {
    const user = await h().createUser();
    const key = await h().createKey(user);
    const ok = await h().inject('GET', '/v1/auth/check', { headers: { ApiKey: key.apiKey } });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.headers['x-keyward-user'], user.uid);
    assert.equal(ok.headers['x-keyward-tenant'], h().tenantUid);
    assert.equal(ok.headers['x-keyward-key'], key.uid);
    assert.equal((await h().inject('GET', '/v1/auth/check')).statusCode, 401);
    await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: {} });
    const revoked = await h().inject('GET', '/v1/auth/check', { headers: { ApiKey: key.apiKey } });
    assert.equal(revoked.statusCode, 401);
    assert.equal(revoked.headers['x-keyward-user'], undefined);
  });

  it('health and readiness', async () => {
    assert.equal((await h().inject('GET', '/healthz')).statusCode, 200);
    assert.equal((await h().inject('GET', '/readyz')).json().status, 'ready');
  });
});

eachDatabase('NUL characters', (h) => {
  it('are refused with 400 in bodies, paths and queries', async () => {
    const auth = h().admin.auth;
    for (const [method, url, body] of [
      ['POST', '/v1/auth/authenticate', { emailId: 'a\u0000@b.c', password: 'x' }],
      ['POST', '/v1/users', { spec: { emailId: 'nul\u0000@example.com' } }],
      ['POST', '/v1/apiKeys', { metadata: { name: 'n', annotations: { description: 'a\u0000' } }, spec: { expiry: h().expiryIn(1) } }],
      ['GET', '/v1/apiKeys?userUid=%00', undefined],
      ['GET', '/v1/audits?resourceUid=a%00', undefined],
    ] as const) {
      const res = await h().inject(method, url, { headers: auth, body });
      assert.equal(res.statusCode, 400, `${method} ${url}`);
      assert.equal(res.json().code, 'BadRequest');
    }
  });
});
