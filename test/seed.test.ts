/**
 * Every step of the seed document (shared/seed/revoke-api-key.txt), through the API, for the
 * User tab and the Tenant tab: revoke, validate Inactive, re-activate, validate Active, and
 * the key really failing and then working again.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { eachDatabase } from './helpers/harness.js';

eachDatabase('seed: revoke and re-activate', (h) => {
  const activeColumn = async (auth: Record<string, string>, keyUid: string) => {
    const res = await h().inject('GET', '/v1/apiKeys', { headers: auth });
    assert.equal(res.statusCode, 200);
    const row = res.json().items.find((k: any) => k.metadata.uid === keyUid);
    assert.ok(row, 'the key is listed in the table');
    return row.status.isActive ? 'Active' : 'Inactive';
  };

  it('User tab: revoke your own key, see Inactive and a 401; re-activate it, see Active and a 200', async () => {
    const user = await h().createUser();
    const key = await h().createKey(user, { name: 'my-ci-key' });
    assert.equal(await h().useKey(key.apiKey), 200);

    // Revoke: the three-dot menu's Revoke is PATCH {isActive: false}.
    const revoke = await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { isActive: false } });
    assert.equal(revoke.statusCode, 204);
    // Validate: the Active column reads Inactive, and the key no longer authenticates.
    assert.equal(await activeColumn(user.auth, key.uid), 'Inactive');
    const refused = await h().inject('GET', '/v1/users/info', { headers: { ApiKey: key.apiKey } });
    assert.equal(refused.statusCode, 401);
    assert.equal(refused.json().code, 'ApiKeyInactive');

    // Re-activate, then validate: Active, and the key works again.
    const activate = await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { isActive: true } });
    assert.equal(activate.statusCode, 204);
    assert.equal(await activeColumn(user.auth, key.uid), 'Active');
    assert.equal(await h().useKey(key.apiKey), 200);
  });

  it("Tenant tab: a tenant admin revokes another user's key, sees Inactive; re-activates it, sees Active", async () => {
    const user = await h().createUser();
    const key = await h().createKey(user, { name: 'their-key' });
    const admin = h().admin;

    const revoke = await h().inject('PUT', `/v1/apiKeys/${key.uid}/state`, { headers: admin.auth, body: { isActive: false } });
    assert.equal(revoke.statusCode, 204);
    assert.equal(await activeColumn(admin.auth, key.uid), 'Inactive');
    assert.equal(await h().useKey(key.apiKey), 401);
    // The owner sees it Inactive too.
    assert.equal(await activeColumn(user.auth, key.uid), 'Inactive');

    const activate = await h().inject('PUT', `/v1/apiKeys/${key.uid}/state`, { headers: admin.auth, body: { isActive: true } });
    assert.equal(activate.statusCode, 204);
    assert.equal(await activeColumn(admin.auth, key.uid), 'Active');
    assert.equal(await h().useKey(key.apiKey), 200);
  });

  it('revoke and re-activate are idempotent', async () => {
    const user = await h().createUser();
    const key = await h().createKey(user);
    for (const isActive of [false, false, true, true]) {
      const res = await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { isActive } });
      assert.equal(res.statusCode, 204);
      assert.equal(await activeColumn(user.auth, key.uid), isActive ? 'Active' : 'Inactive');
    }
  });
});
