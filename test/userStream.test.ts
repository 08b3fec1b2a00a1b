/**
 * GET /v1/users?limit=0 (Palette's Go SDK reads every user in one answer) is written out a
 * chunk at a time as it is read, as GET /v1/apiKeys without paging is: a tenant of 100,000
 * users must not be held in memory per request (security review r2, F5).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { insertUsers } from './helpers/bulk.js';
import { eachDatabase } from './helpers/harness.js';
import { assertPalette } from './helpers/palette.js';

eachDatabase('every user in one streamed answer', (h) => {
  it('streams limit=0 (no Content-Length), every user once, with the same listmeta as before', async () => {
    const admin = await h().createTenant(`stream-${Date.now()}`);
    const uids = await insertUsers(h().store, { tenantUid: admin.tenantUid, count: 2500, createdAt: h().clock.now + 1 });
    const res = await h().inject('GET', '/v1/users?limit=0', { headers: admin.auth });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['content-length'], undefined, 'written as it is read, not built whole first');
    const body = res.json();
    assertPalette('v1Users', body);
    const got = body.items.map((u: any) => u.metadata.uid);
    assert.equal(new Set(got).size, 2501);
    assert.ok(uids.every((u) => got.includes(u)));
    assert.deepEqual(body.listmeta, { continue: '', count: 2501, limit: 0, offset: 2501 });
    assert.equal(body.items.find((u: any) => u.metadata.uid === uids[0]).password_hash, undefined);

    const rest = (await h().inject('GET', '/v1/users?limit=0&offset=2000', { headers: admin.auth })).json();
    assert.deepEqual(rest.items.map((u: any) => u.metadata.uid), got.slice(2000));
    assert.deepEqual(rest.listmeta, { continue: '', count: 2501, limit: 0, offset: 2501 });
  });

  it('refuses a plain user before writing anything', async () => {
    const user = await h().createUser();
    const res = await h().inject('GET', '/v1/users?limit=0', { headers: user.auth });
    assert.equal(res.statusCode, 403, res.body);
    assert.equal(res.json().code, 'Forbidden');
  });
});
