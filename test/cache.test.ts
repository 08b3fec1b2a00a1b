/** The verification cache seen from the API: used on the hot path, never trusted past a change. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sql } from 'kysely';
import { DAY, eachDatabase } from './helpers/harness.js';

eachDatabase('verification cache', (h) => {
  it('serves a known key from memory: no database read once warm', async () => {
    const key = await h().createKey(h().admin);
    assert.equal(await h().useKey(key.apiKey), 200);
    // Remove the row behind the service's back (no invalidation): the warm cache still answers.
    await sql`delete from api_keys where uid = ${key.uid}`.execute(h().store.connection.db);
    assert.equal(await h().useKey(key.apiKey), 200);
    h().services.cache.clear();
    assert.equal(await h().useKey(key.apiKey), 401, 'once forgotten, the database has the last word');
  });

  it('refuses a cached key the moment it expires', async () => {
    const key = await h().createKey(h().admin, { days: 1 });
    assert.equal(await h().useKey(key.apiKey), 200);
    assert.ok(h().services.cache.size > 0);
    h().clock.now += DAY;
    try {
      const res = await h().inject('GET', '/v1/users/info', { headers: { ApiKey: key.apiKey } });
      assert.equal(res.statusCode, 401);
      assert.equal(res.json().code, 'ApiKeyExpired');
    } finally {
      h().clock.now -= DAY;
    }
  });

  it('a revoke, re-activation, expiry change and delete each take effect on the next request', async () => {
    const key = await h().createKey(h().admin, { days: 5 });
    const auth = h().admin.auth;
    assert.equal(await h().useKey(key.apiKey), 200);
    await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: auth, body: { isActive: false } });
    assert.equal(await h().useKey(key.apiKey), 401);
    await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: auth, body: { isActive: true } });
    assert.equal(await h().useKey(key.apiKey), 200);
    await h().inject('PUT', `/v1/apiKeys/${key.uid}`, { headers: auth, body: { spec: { expiry: h().expiryIn(1) } } });
    h().clock.now += 2 * DAY;
    try {
      assert.equal(await h().useKey(key.apiKey), 401, 'the shortened expiry is seen, not the cached one');
    } finally {
      h().clock.now -= 2 * DAY;
    }
    await h().inject('DELETE', `/v1/apiKeys/${key.uid}`, { headers: auth });
    assert.equal(await h().useKey(key.apiKey), 401);
  });

  it('records when a key was last used, without a write per request', async () => {
    const key = await h().createKey(h().admin);
    const before = (await h().inject('GET', `/v1/apiKeys/${key.uid}`, { headers: h().admin.auth })).json();
    assert.equal(before.status.lastUsedTimestamp, undefined);
    for (let i = 0; i < 5; i++) await h().useKey(key.apiKey);
    await h().services.lastUsed.flush();
    const after = (await h().inject('GET', `/v1/apiKeys/${key.uid}`, { headers: h().admin.auth })).json();
    assert.equal(after.status.lastUsedTimestamp, new Date(h().clock.now).toISOString());
  });
});
