/**
 * A tenant's scopes cannot pass for Keyward's own: a resource that differs from a built-in one
 * only in case (`ApiKeys:write`, `USERS:delete`) is refused like the built-in resource itself. A
 * person picking `ApiKeys:write` from the console's list, taking it for the built-in
 * `apiKeys:write`, would make a key that cannot do what they meant (reviewer r2).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { eachDatabase } from './helpers/harness.js';
import { assertV1ErrorBody } from './helpers/palette.js';

eachDatabase('tenant scopes that look like built-in ones', (h) => {
  it('a resource equal to a built-in one but for case is refused with 400 naming it; nothing is added', async () => {
    for (const name of ['ApiKeys:write', 'APIKEYS:read', 'Users:write', 'AUDITS:read', 'Keys:verify', 'apikeys:rotate']) {
      const res = await h().inject('PUT', `/v1/scopes/${name}`, { headers: h().admin.auth, body: { description: 'lookalike' } });
      assert.equal(res.statusCode, 400, `${name}: ${res.body}`);
      assert.match(assertV1ErrorBody(res.body).message, /Keyward's own/);
    }
    const names = (await h().inject('GET', '/v1/scopes', { headers: h().admin.auth })).json().items.map((s: { name: string }) => s.name);
    assert.ok(!names.some((n: string) => /^(apikeys|users|audits|keys):/i.test(n) && !['apiKeys:read', 'apiKeys:write', 'apiKeys:rotateSelf', 'apiKeys:reportLeaks', 'users:read', 'users:write', 'audits:read', 'keys:verify'].includes(n)), names.join(','));
    // Other resources, whatever their case, are the tenant's.
    assert.equal((await h().inject('PUT', '/v1/scopes/Orders:read', { headers: h().admin.auth, body: { description: 'ok' } })).statusCode, 201);
    assert.equal((await h().inject('PUT', '/v1/scopes/apiKeysArchive:read', { headers: h().admin.auth, body: { description: 'ok' } })).statusCode, 201);
  });
});
