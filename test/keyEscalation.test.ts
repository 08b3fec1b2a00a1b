/**
 * Ways a narrowed key could gain more than its scopes through what it is allowed to do
 * (reviewer r2, CONTRACT §6.1: "a tenant admin's key scoped apiKeys:read cannot revoke", "a caller
 * authenticated by a key can never create or widen a key beyond its own scopes"):
 *   - turning itself into a person's sign-in: a key with users:write making a tenant admin with a
 *     password, or giving a person it controls the tenant-admin role, whose session has every power;
 *   - bringing back a wider key: a key with apiKeys:write re-activating a revoked key, or extending
 *     an expired one, that may do more than it may (its holder may well have the old key's secret:
 *     that is why it was revoked).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { type Caller, eachDatabase, type Harness } from './helpers/harness.js';
import { assertV1ErrorBody } from './helpers/palette.js';

let seq = 0;
const PASSWORD = 'Tr0ub4dor-horse-staple';

async function keyFor(h: Harness, owner: Caller, spec: Record<string, unknown>, expiry = h.expiryIn(30)) {
  const res = await h.inject('POST', '/v1/apiKeys', { headers: owner.auth, body: { metadata: { name: `e-${++seq}` }, spec: { expiry, ...spec } } });
  assert.equal(res.statusCode, 201, res.body);
  return res.json() as { apiKey: string; uid: string };
}

const signIn = (h: Harness, emailId: string) => h.inject('POST', '/v1/auth/authenticate', { body: { emailId, password: PASSWORD } });
const rolesOf = async (h: Harness, uid: string) => (await h.inject('GET', `/v1/users/${uid}`, { headers: h.admin.auth })).json().spec.roles as string[];

eachDatabase('a narrowed key cannot become a sign-in', (h) => {
  it('a key with users:write but not * cannot create a user with a password (403 naming *), nor a tenant admin; nothing is made', async () => {
    const admin = await h().createUser({ admin: true });
    const k = await keyFor(h(), admin, { scopes: ['users:write', 'users:read'] });
    const as = { ApiKey: k.apiKey };
    for (const spec of [
      { roles: ['tenant-admin'], password: PASSWORD },
      { roles: [], password: PASSWORD },
      { roles: ['tenant-admin'] },
      { roles: ['tenant-admin'], kind: 'service' },
    ]) {
      const email = `made-${++seq}@example.com`;
      const res = await h().inject('POST', '/v1/users', { headers: as, body: { spec: { emailId: email, ...spec } } });
      assert.equal(res.statusCode, 403, `${JSON.stringify(spec)}: ${res.body}`);
      const body = assertV1ErrorBody(res.body);
      assert.equal(body.code, 'Forbidden');
      assert.equal(body.details?.missingScope, '*');
      assert.match(body.message, /\*/);
      assert.equal((await signIn(h(), email)).statusCode, 401, 'no user was made to sign in as');
      const listed = (await h().inject('GET', `/v1/users?search=${encodeURIComponent(email)}`, { headers: h().admin.auth })).json();
      assert.equal(listed.items.length, 0, 'nothing was made');
    }
    // What users:write is for still works: users without a password or admin role, service accounts.
    const plain = await h().inject('POST', '/v1/users', { headers: as, body: { spec: { emailId: `plain-${++seq}@example.com`, roles: [] } } });
    assert.equal(plain.statusCode, 201, plain.body);
    const service = await h().inject('POST', '/v1/users', { headers: as, body: { spec: { emailId: `svc-${++seq}@example.com`, kind: 'service' } } });
    assert.equal(service.statusCode, 201, service.body);
  });

  it('a key with users:write but not * cannot give anyone the tenant-admin role (PUT or PATCH); it may still edit and demote', async () => {
    const admin = await h().createUser({ admin: true });
    const accomplice = await h().createUser();
    const k = await keyFor(h(), admin, { scopes: ['users:write'] });
    const as = { ApiKey: k.apiKey };
    const put = await h().inject('PUT', `/v1/users/${accomplice.uid}`, { headers: as, body: { spec: { roles: ['tenant-admin'] } } });
    assert.equal(put.statusCode, 403, put.body);
    assert.equal(assertV1ErrorBody(put.body).details?.missingScope, '*');
    for (const ops of [
      [{ op: 'add', path: '/spec/roles/-', value: 'tenant-admin' }],
      [{ op: 'replace', path: '/spec/roles', value: ['tenant-admin', 'x'] }],
    ]) {
      const patch = await h().inject('PATCH', `/v1/users/${accomplice.uid}`, { headers: as, body: ops });
      assert.equal(patch.statusCode, 403, patch.body);
    }
    assert.deepEqual(await rolesOf(h(), accomplice.uid), []);
    // The accomplice's session is still a plain user's.
    assert.equal((await h().inject('GET', '/v1/users', { headers: accomplice.auth })).statusCode, 403);
    // Other edits, other roles, and taking the role away stay within users:write.
    assert.equal((await h().inject('PUT', `/v1/users/${accomplice.uid}`, { headers: as, body: { spec: { firstName: 'Renamed', roles: ['auditor'] } } })).statusCode, 204);
    const other = await h().createUser({ admin: true });
    assert.equal((await h().inject('PUT', `/v1/users/${other.uid}`, { headers: as, body: { spec: { roles: [] } } })).statusCode, 204);
    // Sending back the roles an admin already has is no grant.
    const same = await h().inject('PUT', `/v1/users/${admin.uid}`, { headers: as, body: { spec: { firstName: 'Still', roles: ['tenant-admin'] } } });
    assert.equal(same.statusCode, 204, same.body);
  });

  it('with * (a Palette key) or a session, users are created and promoted as before', async () => {
    const admin = await h().createUser({ admin: true });
    const full = await keyFor(h(), admin, {});
    const email = `full-${++seq}@example.com`;
    const res = await h().inject('POST', '/v1/users', { headers: { ApiKey: full.apiKey }, body: { spec: { emailId: email, roles: ['tenant-admin'], password: PASSWORD } } });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal((await signIn(h(), email)).statusCode, 200);
    const person = await h().createUser();
    assert.equal((await h().inject('PUT', `/v1/users/${person.uid}`, { headers: admin.auth, body: { spec: { roles: ['tenant-admin'] } } })).statusCode, 204);
  });
});

eachDatabase('a narrowed key cannot bring back a wider key', (h) => {
  it('re-activating a revoked key wider than the caller key is 403 and it stays revoked; within its scopes it may', async () => {
    const admin = await h().createUser({ admin: true });
    const writer = await keyFor(h(), admin, { scopes: ['apiKeys:write'] });
    const as = { ApiKey: writer.apiKey };
    const wide = await keyFor(h(), admin, {});
    const narrow = await keyFor(h(), admin, { scopes: ['apiKeys:write'] });
    for (const k of [wide, narrow]) assert.equal((await h().inject('PATCH', `/v1/apiKeys/${k.uid}`, { headers: admin.auth, body: { isActive: false } })).statusCode, 204);
    for (const [method, url] of [['PATCH', `/v1/apiKeys/${wide.uid}`], ['PUT', `/v1/apiKeys/${wide.uid}/state`]] as const) {
      const res = await h().inject(method, url, { headers: as, body: { isActive: true } });
      assert.equal(res.statusCode, 403, `${method} ${url}: ${res.body}`);
      assert.equal(assertV1ErrorBody(res.body).details?.missingScope, '*');
    }
    assert.equal(await h().useKey(wide.apiKey), 401, 'the wide key stays revoked');
    assert.equal((await h().inject('PATCH', `/v1/apiKeys/${narrow.uid}`, { headers: as, body: { isActive: true } })).statusCode, 204);
    assert.equal(await h().useKey(narrow.apiKey), 200);
    // Revoking a wider key needs no more than apiKeys:write, and re-activating an active key changes nothing.
    assert.equal((await h().inject('PATCH', `/v1/apiKeys/${narrow.uid}`, { headers: as, body: { isActive: true } })).statusCode, 204);
  });

  it('a caller key with an allowlist cannot re-activate a key usable from anywhere', async () => {
    const admin = await h().createUser({ admin: true });
    const fenced = await keyFor(h(), admin, { scopes: ['*'], allowedCidrs: ['127.0.0.0/8'] });
    const open = await keyFor(h(), admin, { scopes: ['apiKeys:read'] });
    assert.equal((await h().inject('PATCH', `/v1/apiKeys/${open.uid}`, { headers: admin.auth, body: { isActive: false } })).statusCode, 204);
    const res = await h().inject('PATCH', `/v1/apiKeys/${open.uid}`, { headers: { ApiKey: fenced.apiKey }, body: { isActive: true } });
    assert.equal(res.statusCode, 403, res.body);
    assert.equal(await h().useKey(open.apiKey), 401);
  });

  it('extending the expiry of a key wider than the caller key is 403, expired or not; within its scopes, and other edits, it may', async () => {
    const admin = await h().createUser({ admin: true });
    const writer = await keyFor(h(), admin, { scopes: ['apiKeys:write'] });
    const as = { ApiKey: writer.apiKey };
    const soon = new Date(h().clock.now + 60_000).toISOString();
    const wide = await keyFor(h(), admin, {}, soon);
    const narrow = await keyFor(h(), admin, { scopes: ['apiKeys:write'] }, soon);
    const later = h().expiryIn(30);
    const extend = (uid: string) => h().inject('PUT', `/v1/apiKeys/${uid}`, { headers: as, body: { spec: { expiry: later } } });
    const live = await extend(wide.uid);
    assert.equal(live.statusCode, 403, live.body);
    assert.equal(assertV1ErrorBody(live.body).details?.missingScope, '*');
    await h().later(async (advance) => {
      advance(120_000);
      assert.equal(await h().useKey(wide.apiKey), 401, 'expired');
      const res = await extend(wide.uid);
      assert.equal(res.statusCode, 403, res.body);
      assert.equal(await h().useKey(wide.apiKey), 401, 'still expired');
      assert.equal((await extend(narrow.uid)).statusCode, 204);
      assert.equal(await h().useKey(narrow.apiKey), 200);
    });
    // Renaming it, shortening it, or sending back its expiry is no extension.
    assert.equal((await h().inject('PUT', `/v1/apiKeys/${wide.uid}`, { headers: as, body: { metadata: { name: `renamed-${++seq}` }, spec: { expiry: soon } } })).statusCode, 204);
    const sooner = new Date(h().clock.now + 30_000).toISOString();
    assert.equal((await h().inject('PUT', `/v1/apiKeys/${wide.uid}`, { headers: as, body: { spec: { expiry: sooner } } })).statusCode, 204);
    // A person may extend it.
    assert.equal((await h().inject('PUT', `/v1/apiKeys/${wide.uid}`, { headers: admin.auth, body: { spec: { expiry: later } } })).statusCode, 204);
  });
});

eachDatabase('a key cannot widen another key along the dimension it does not check', (h) => {
  it("a fenced key cannot give scopes to a key usable from outside its own addresses (the scopes would work from anywhere)", async () => {
    const admin = await h().createUser({ admin: true });
    const fenced = await keyFor(h(), admin, { scopes: ['apiKeys:write', 'users:read'], allowedCidrs: ['127.0.0.0/8'] });
    const as = { ApiKey: fenced.apiKey };
    const open = await keyFor(h(), admin, { scopes: [] });
    const res = await h().inject('PUT', `/v1/apiKeys/${open.uid}`, { headers: as, body: { spec: { scopes: ['users:read'] } } });
    assert.equal(res.statusCode, 403, res.body);
    assert.equal(assertV1ErrorBody(res.body).details?.reason, 'address_not_allowed');
    const spec = (await h().inject('GET', `/v1/apiKeys/${open.uid}`, { headers: h().admin.auth })).json().spec;
    assert.deepEqual(spec.scopes, []);
    // Giving them together with a fence inside its own is fine, and so is narrowing an open key.
    const fencedToo = await h().inject('PUT', `/v1/apiKeys/${open.uid}`, { headers: as, body: { spec: { scopes: ['users:read'], allowedCidrs: ['127.0.0.1'] } } });
    assert.equal(fencedToo.statusCode, 204, fencedToo.body);
    const wideOpen = await keyFor(h(), admin, { scopes: ['users:read', 'apiKeys:write'] });
    assert.equal((await h().inject('PUT', `/v1/apiKeys/${wideOpen.uid}`, { headers: as, body: { spec: { scopes: ['users:read'] } } })).statusCode, 204);
  });

  it('a key cannot open up the addresses of a key that holds scopes beyond its own (the fence is what keeps that key in)', async () => {
    const admin = await h().createUser({ admin: true });
    const writer = await keyFor(h(), admin, { scopes: ['apiKeys:write'] });
    const as = { ApiKey: writer.apiKey };
    const fencedWide = await keyFor(h(), admin, { allowedCidrs: ['10.0.0.5'] });
    for (const allowedCidrs of [[], ['10.0.0.0/8'], ['10.0.0.5', '192.0.2.0/24']]) {
      const res = await h().inject('PUT', `/v1/apiKeys/${fencedWide.uid}`, { headers: as, body: { spec: { allowedCidrs } } });
      assert.equal(res.statusCode, 403, `${JSON.stringify(allowedCidrs)}: ${res.body}`);
      assert.equal(assertV1ErrorBody(res.body).details?.missingScope, '*');
    }
    assert.equal(await h().useKey(fencedWide.apiKey), 403, 'still fenced: the test client is 127.0.0.1');
    assert.deepEqual((await h().inject('GET', `/v1/apiKeys/${fencedWide.uid}`, { headers: h().admin.auth })).json().spec.allowedCidrs, ['10.0.0.5/32']);
    // Narrowing its addresses, or opening those of a key within its own scopes, is fine.
    assert.equal((await h().inject('PUT', `/v1/apiKeys/${fencedWide.uid}`, { headers: as, body: { spec: { allowedCidrs: ['10.0.0.5'] } } })).statusCode, 204);
    const fencedNarrow = await keyFor(h(), admin, { scopes: ['apiKeys:write'], allowedCidrs: ['10.0.0.5'] });
    assert.equal((await h().inject('PUT', `/v1/apiKeys/${fencedNarrow.uid}`, { headers: as, body: { spec: { allowedCidrs: [] } } })).statusCode, 204);
    assert.equal(await h().useKey(fencedNarrow.apiKey), 200);
  });
});
