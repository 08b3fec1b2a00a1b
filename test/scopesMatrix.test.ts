/**
 * The isolation matrix of scoped keys (CONTRACT §6.1): each built-in scope (and `*`, and no scope
 * at all) against each of Keyward's authenticated endpoints, for a key of a plain user and a key
 * of a tenant admin. A request is allowed iff the owner's role allows it AND the key's scopes grant
 * the endpoint's scope; otherwise 403 naming the missing scope, and nothing changed.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { BUILT_IN_SCOPES } from '../src/domain/scopes.js';
import { type Caller, eachDatabase, type Harness } from './helpers/harness.js';

interface Target {
  /** Another user of the tenant (for admin actions on other users). */
  other: string;
  /** A key of the key's owner, to read and change. */
  ownKey: { uid: string; apiKey: string; name: string };
}

interface Endpoint {
  name: string;
  /** The scope design-11 names for it; null: none. */
  scope: string | null;
  /** The status when the key's scopes grant it, by the owner's role. */
  expect: { user: number; admin: number };
  request(h: Harness, owner: Caller, t: Target): { method: string; url: string; body?: unknown };
  /** Asserts a refused request changed nothing. */
  unchanged?(h: Harness, owner: Caller, t: Target): Promise<void>;
}

const keyState = async (h: Harness, uid: string) => {
  const res = await h.inject('GET', `/v1/apiKeys/${uid}`, { headers: h.admin.auth });
  return res.statusCode === 200 ? { exists: true, name: res.json().metadata.name as string, active: res.json().status.isActive as boolean } : { exists: false };
};
const userExists = async (h: Harness, uid: string) => (await h.inject('GET', `/v1/users/${uid}`, { headers: h.admin.auth })).statusCode === 200;
const userNames = async (h: Harness, uid: string) => (await h.inject('GET', `/v1/users/${uid}`, { headers: h.admin.auth })).json().spec;

const keyUnchanged = async (h: Harness, _o: Caller, t: Target) =>
  assert.deepEqual(await keyState(h, t.ownKey.uid), { exists: true, name: t.ownKey.name, active: true }, 'the key is as it was');

let seq = 0;
const ENDPOINTS: Endpoint[] = [
  { name: 'GET /v1/users/info', scope: null, expect: { user: 200, admin: 200 }, request: () => ({ method: 'GET', url: '/v1/users/info' }) },
  { name: 'GET /v1/scopes', scope: null, expect: { user: 200, admin: 200 }, request: () => ({ method: 'GET', url: '/v1/scopes' }) },
  { name: 'GET /v1/apiKeys', scope: 'apiKeys:read', expect: { user: 200, admin: 200 }, request: () => ({ method: 'GET', url: '/v1/apiKeys' }) },
  {
    name: 'GET /v1/apiKeys/{uid}',
    scope: 'apiKeys:read',
    expect: { user: 200, admin: 200 },
    request: (_h, _o, t) => ({ method: 'GET', url: `/v1/apiKeys/${t.ownKey.uid}` }),
  },
  {
    name: 'POST /v1/apiKeys',
    scope: 'apiKeys:write',
    expect: { user: 201, admin: 201 },
    // No scopes asked for: the matrix tests the endpoint's scope, not what a key may hand out.
    request: (h) => ({ method: 'POST', url: '/v1/apiKeys', body: { metadata: { name: `made-${++seq}` }, spec: { expiry: h.expiryIn(5), scopes: [] } } }),
    async unchanged(h, owner) {
      const names = (await h.inject('GET', `/v1/apiKeys?userUid=${owner.uid}`, { headers: h.admin.auth })).json().items.map((k: any) => k.metadata.name);
      assert.ok(!names.includes(`made-${seq}`), 'no key was made');
    },
  },
  {
    name: 'PUT /v1/apiKeys/{uid}',
    scope: 'apiKeys:write',
    expect: { user: 204, admin: 204 },
    request: (_h, _o, t) => ({ method: 'PUT', url: `/v1/apiKeys/${t.ownKey.uid}`, body: { metadata: { name: `renamed-${++seq}` } } }),
    unchanged: keyUnchanged,
  },
  {
    name: 'PATCH /v1/apiKeys/{uid}',
    scope: 'apiKeys:write',
    expect: { user: 204, admin: 204 },
    request: (_h, _o, t) => ({ method: 'PATCH', url: `/v1/apiKeys/${t.ownKey.uid}`, body: { isActive: false } }),
    unchanged: keyUnchanged,
  },
  {
    name: 'PUT /v1/apiKeys/{uid}/state',
    scope: 'apiKeys:write',
    expect: { user: 204, admin: 204 },
    request: (_h, _o, t) => ({ method: 'PUT', url: `/v1/apiKeys/${t.ownKey.uid}/state`, body: { isActive: false } }),
    unchanged: keyUnchanged,
  },
  {
    name: 'DELETE /v1/apiKeys/{uid}',
    scope: 'apiKeys:write',
    expect: { user: 204, admin: 204 },
    request: (_h, _o, t) => ({ method: 'DELETE', url: `/v1/apiKeys/${t.ownKey.uid}` }),
    unchanged: keyUnchanged,
  },
  {
    name: 'POST /v1/apiKeys/verify',
    scope: 'keys:verify',
    expect: { user: 403, admin: 200 },
    request: (_h, _o, t) => ({ method: 'POST', url: '/v1/apiKeys/verify', body: { key: t.ownKey.apiKey } }),
  },
  { name: 'GET /v1/users', scope: 'users:read', expect: { user: 403, admin: 200 }, request: () => ({ method: 'GET', url: '/v1/users' }) },
  { name: 'GET /v1/users/{uid}', scope: 'users:read', expect: { user: 200, admin: 200 }, request: (_h, o) => ({ method: 'GET', url: `/v1/users/${o.uid}` }) },
  {
    name: 'POST /v1/users',
    scope: 'users:write',
    expect: { user: 403, admin: 201 },
    request: () => ({ method: 'POST', url: '/v1/users', body: { spec: { emailId: `matrix-${++seq}@example.com` } } }),
    async unchanged(h) {
      const found = (await h.inject('GET', `/v1/users?search=matrix-${seq}@`, { headers: h.admin.auth })).json().items;
      assert.equal(found.length, 0, 'no user was made');
    },
  },
  {
    name: 'PUT /v1/users/{uid}',
    scope: 'users:write',
    // A user may change their own names; an admin any user's.
    expect: { user: 204, admin: 204 },
    request: (_h, o) => ({ method: 'PUT', url: `/v1/users/${o.uid}`, body: { spec: { firstName: `Renamed${++seq}` } } }),
    async unchanged(h, o) {
      assert.notEqual((await userNames(h, o.uid)).firstName, `Renamed${seq}`, 'the name is as it was');
    },
  },
  {
    name: 'PATCH /v1/users/{uid}',
    scope: 'users:write',
    // Another user is not a plain user's to see: 404, as if not there.
    expect: { user: 404, admin: 204 },
    request: (_h, _o, t) => ({ method: 'PATCH', url: `/v1/users/${t.other}`, body: [{ op: 'replace', path: '/spec/lastName', value: 'Patched' }] }),
    async unchanged(h, _o, t) {
      assert.notEqual((await userNames(h, t.other)).lastName, 'Patched');
    },
  },
  {
    name: 'DELETE /v1/users/{uid}',
    scope: 'users:write',
    expect: { user: 403, admin: 204 },
    request: (_h, _o, t) => ({ method: 'DELETE', url: `/v1/users/${t.other}` }),
    async unchanged(h, _o, t) {
      assert.ok(await userExists(h, t.other), 'the user is still there');
    },
  },
  {
    name: 'PATCH /v1/users/{uid}/password/reset',
    scope: 'users:write',
    // Never with a key, whatever it holds: a reset needs a person (passwordChanges.ts).
    expect: { user: 403, admin: 403 },
    request: (_h, _o, t) => ({ method: 'PATCH', url: `/v1/users/${t.other}/password/reset`, body: { newPassword: 'a-brand-new-password-1', currentPassword: 'whatever-it-is' } }),
  },
  { name: 'GET /v1/audits', scope: 'audits:read', expect: { user: 200, admin: 200 }, request: () => ({ method: 'GET', url: '/v1/audits' }) },
  {
    name: 'PUT /v1/scopes/{name}',
    scope: '*',
    expect: { user: 403, admin: 201 },
    request: () => ({ method: 'PUT', url: `/v1/scopes/matrix:s${++seq}`, body: { description: 'made by the matrix' } }),
    async unchanged(h) {
      const names = (await h.inject('GET', '/v1/scopes', { headers: h.admin.auth })).json().items.map((s: any) => s.name);
      assert.ok(!names.includes(`matrix:s${seq}`), 'no scope was made');
    },
  },
  {
    name: 'DELETE /v1/scopes/{name}',
    scope: '*',
    expect: { user: 403, admin: 204 },
    request: () => ({ method: 'DELETE', url: `/v1/scopes/matrix:doomed${seq}` }),
    async unchanged(h) {
      const names = (await h.inject('GET', '/v1/scopes', { headers: h.admin.auth })).json().items.map((s: any) => s.name);
      assert.ok(names.includes(`matrix:doomed${seq}`), 'the scope is still there');
    },
  },
];

/** What each key holds: every built-in scope alone, the full preset, and nothing. */
const SCOPE_SETS: string[][] = [...BUILT_IN_SCOPES.map((s) => [s.name]), ['*'], [], ['apiKeys:*'], ['users:*']];

const grantsEndpoint = (held: string[], needed: string | null) =>
  needed === null || held.includes('*') || held.includes(needed) || (needed !== '*' && held.includes(`${needed.split(':')[0]}:*`));

eachDatabase('scoped keys: the isolation matrix', (h) => {
  it('every endpoint, every built-in scope, a plain user\'s key and a tenant admin\'s: role ∩ scopes, 403 naming the scope otherwise, nothing changed', async () => {
    const user = await h().createUser();
    const admin = await h().createUser({ admin: true });
    const failures: string[] = [];
    for (const [role, owner] of [['user', user], ['admin', admin]] as const) {
      for (const scopes of SCOPE_SETS) {
        const created = await h().inject('POST', '/v1/apiKeys', {
          headers: owner.auth,
          body: { metadata: { name: `m-${++seq}` }, spec: { expiry: h().expiryIn(30), scopes } },
        });
        assert.equal(created.statusCode, 201, created.body);
        const key = created.json().apiKey as string;
        for (const e of ENDPOINTS) {
          // Fresh targets for every request: writes change them.
          const other = (await h().inject('POST', '/v1/users', { headers: h().admin.auth, body: { spec: { emailId: `other-${++seq}@example.com` } } })).json().uid;
          const ownKey = await h().createKey(owner, { name: `target-${++seq}` });
          if (e.name === 'DELETE /v1/scopes/{name}') {
            assert.equal((await h().inject('PUT', `/v1/scopes/matrix:doomed${seq}`, { headers: h().admin.auth, body: {} })).statusCode, 201);
          }
          const t = { other, ownKey };
          const { method, url, body } = e.request(h(), owner, t);
          const res = await h().inject(method, url, { headers: { ApiKey: key }, body });
          const granted = grantsEndpoint(scopes, e.scope);
          const label = `${role} key ${JSON.stringify(scopes)} → ${e.name}`;
          if (granted) {
            if (res.statusCode !== e.expect[role]) failures.push(`${label}: ${res.statusCode}, expected ${e.expect[role]} (${res.body})`);
            if (res.statusCode === 403 && res.json().details?.missingScope !== undefined) failures.push(`${label}: refused for a scope it holds (${res.body})`);
          } else {
            if (res.statusCode !== 403) failures.push(`${label}: ${res.statusCode}, expected 403 (${res.body})`);
            else {
              const err = res.json();
              if (err.code !== 'Forbidden' || err.details?.missingScope !== e.scope || !err.message.includes(`"${e.scope}"`)) {
                failures.push(`${label}: the 403 does not name the missing scope ${e.scope}: ${res.body}`);
              }
              await e.unchanged?.(h(), owner, t);
            }
          }
        }
      }
    }
    assert.deepEqual(failures, []);
  });

  it('sessions keep their role\'s full power: the same endpoints with a session are not asked for scopes', async () => {
    const user = await h().createUser();
    for (const e of ENDPOINTS.filter((x) => x.scope !== null && x.name !== 'PATCH /v1/users/{uid}/password/reset')) {
      const other = (await h().inject('POST', '/v1/users', { headers: h().admin.auth, body: { spec: { emailId: `other-${++seq}@example.com` } } })).json().uid;
      const ownKey = await h().createKey(h().admin, { name: `target-${++seq}` });
      if (e.name === 'DELETE /v1/scopes/{name}') await h().inject('PUT', `/v1/scopes/matrix:doomed${seq}`, { headers: h().admin.auth, body: {} });
      const { method, url, body } = e.request(h(), h().admin, { other, ownKey });
      const res = await h().inject(method, url, { headers: h().admin.auth, body });
      assert.equal(res.statusCode, e.expect.admin, `${e.name}: ${res.body}`);
      // And a plain user's session is held to the role only.
      const ownUserKey = await h().createKey(user, { name: `target-${++seq}` });
      const r2 = e.request(h(), user, { other, ownKey: ownUserKey });
      const res2 = await h().inject(r2.method, r2.url, { headers: user.auth, body: r2.body });
      assert.ok(!res2.body.includes('missingScope'), `${e.name}: a session is never asked for a scope (${res2.body})`);
    }
  });
});
