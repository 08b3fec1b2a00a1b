/**
 * The permission matrix, generated: actor (role × tenant × ownership) × credential (token or
 * API key) × operation, each cell on a fresh key, with the status the contract requires.
 * Refused cells must change nothing, and must answer 404 where 403 would reveal existence.
 */
import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { type Caller, eachDatabase, type Harness } from './helpers/harness.js';

type Actor = 'tenantAdmin' | 'owner' | 'otherUser' | 'foreignAdmin' | 'foreignUser';
const actors: Actor[] = ['tenantAdmin', 'owner', 'otherUser', 'foreignAdmin', 'foreignUser'];

interface Cell {
  op: string;
  /** Does the operation on a fresh key owned by `owner`; returns the response status. */
  run(h: Harness, actor: Caller, key: { uid: string; apiKey: string }, people: Record<Actor, Caller>): Promise<number>;
  expect: Record<Actor, number>;
  /** Whether a success changes the key (so refusals can be checked to change nothing). */
  mutates: boolean;
}

const seeOwn = { tenantAdmin: 200, owner: 200, otherUser: 404, foreignAdmin: 404, foreignUser: 404 };
const changeOwn = { tenantAdmin: 204, owner: 204, otherUser: 404, foreignAdmin: 404, foreignUser: 404 };

const cells: Cell[] = [
  { op: 'get key', mutates: false, expect: seeOwn, run: async (h, a, k) => (await h.inject('GET', `/v1/apiKeys/${k.uid}`, { headers: a.auth })).statusCode },
  {
    op: 'list keys shows it',
    mutates: false,
    expect: seeOwn,
    run: async (h, a, k) => {
      const res = await h.inject('GET', '/v1/apiKeys', { headers: a.auth });
      assert.equal(res.statusCode, 200);
      return res.json().items.some((i: any) => i.metadata.uid === k.uid) ? 200 : 404;
    },
  },
  {
    op: 'list keys filtered by the owner shows it',
    mutates: false,
    expect: seeOwn,
    run: async (h, a, k, p) => {
      const res = await h.inject('GET', `/v1/apiKeys?userUid=${p.owner.uid}`, { headers: a.auth });
      assert.equal(res.statusCode, 200);
      return res.json().items.some((i: any) => i.metadata.uid === k.uid) ? 200 : 404;
    },
  },
  {
    op: 'edit key',
    mutates: true,
    expect: changeOwn,
    run: async (h, a, k) =>
      (await h.inject('PUT', `/v1/apiKeys/${k.uid}`, { headers: a.auth, body: { metadata: { name: `renamed-${k.uid}` } } })).statusCode,
  },
  { op: 'revoke (PATCH)', mutates: true, expect: changeOwn, run: async (h, a, k) => (await h.inject('PATCH', `/v1/apiKeys/${k.uid}`, { headers: a.auth, body: { isActive: false } })).statusCode },
  { op: 'revoke (PUT state)', mutates: true, expect: changeOwn, run: async (h, a, k) => (await h.inject('PUT', `/v1/apiKeys/${k.uid}/state`, { headers: a.auth, body: {} })).statusCode },
  {
    op: 're-activate a key its owner revoked',
    mutates: false,
    expect: changeOwn,
    run: async (h, a, k, p) => {
      await h.inject('PATCH', `/v1/apiKeys/${k.uid}`, { headers: p.owner.auth, body: { isActive: false } });
      const status = (await h.inject('PATCH', `/v1/apiKeys/${k.uid}`, { headers: a.auth, body: { isActive: true } })).statusCode;
      const stillRevoked = (await h.useKey(k.apiKey)) === 401;
      assert.equal(stillRevoked, status !== 204, 'the key is active exactly when the re-activation succeeded');
      return status;
    },
  },
  {
    op: 're-activate a key a tenant admin revoked',
    mutates: false,
    expect: { tenantAdmin: 204, owner: 403, otherUser: 404, foreignAdmin: 404, foreignUser: 404 },
    run: async (h, a, k, p) => {
      await h.inject('PATCH', `/v1/apiKeys/${k.uid}`, { headers: p.tenantAdmin.auth, body: { isActive: false } });
      const status = (await h.inject('PATCH', `/v1/apiKeys/${k.uid}`, { headers: a.auth, body: { isActive: true } })).statusCode;
      assert.equal((await h.useKey(k.apiKey)) === 200, status === 204);
      return status;
    },
  },
  { op: 'delete key', mutates: true, expect: changeOwn, run: async (h, a, k) => (await h.inject('DELETE', `/v1/apiKeys/${k.uid}`, { headers: a.auth })).statusCode },
  {
    op: 'create a key for the owner',
    mutates: false,
    expect: { tenantAdmin: 201, owner: 201, otherUser: 403, foreignAdmin: 404, foreignUser: 403 },
    run: async (h, a, _k, p) =>
      (
        await h.inject('POST', '/v1/apiKeys', {
          headers: a.auth,
          body: { metadata: { name: `for-owner-${Math.random()}` }, spec: { expiry: h.expiryIn(5), userUid: p.owner.uid } },
        })
      ).statusCode,
  },
  { op: 'get the owner', mutates: false, expect: seeOwn, run: async (h, a, _k, p) => (await h.inject('GET', `/v1/users/${p.owner.uid}`, { headers: a.auth })).statusCode },
  {
    op: 'list users',
    mutates: false,
    expect: { tenantAdmin: 200, owner: 403, otherUser: 403, foreignAdmin: 200, foreignUser: 403 },
    run: async (h, a, _k, p) => {
      const res = await h.inject('GET', '/v1/users', { headers: a.auth });
      if (res.statusCode === 200) {
        const sameTenant = a.tenantUid === p.owner.tenantUid;
        assert.equal(res.json().items.some((u: any) => u.metadata.uid === p.owner.uid), sameTenant, 'lists only its own tenant');
      }
      return res.statusCode;
    },
  },
  {
    op: 'read the audit of the key',
    mutates: false,
    expect: seeOwn,
    run: async (h, a, k) => {
      const res = await h.inject('GET', `/v1/audits?resourceUid=${k.uid}`, { headers: a.auth });
      assert.equal(res.statusCode, 200);
      return res.json().items.length > 0 ? 200 : 404;
    },
  },
  {
    op: 'create a user',
    mutates: false,
    expect: { tenantAdmin: 201, owner: 403, otherUser: 403, foreignAdmin: 201, foreignUser: 403 },
    run: async (h, a) =>
      (await h.inject('POST', '/v1/users', { headers: a.auth, body: { spec: { emailId: `made-${Math.random().toString(36).slice(2)}@example.com` } } })).statusCode,
  },
  {
    op: 'delete a user of the tenant',
    mutates: false,
    expect: { tenantAdmin: 204, owner: 403, otherUser: 403, foreignAdmin: 404, foreignUser: 403 },
    run: async (h, a, _k, p) => {
      const victim = await h.createUser();
      const victimKey = await h.createKey(victim);
      const status = (await h.inject('DELETE', `/v1/users/${victim.uid}`, { headers: a.auth })).statusCode;
      assert.equal((await h.inject('GET', `/v1/users/${victim.uid}`, { headers: p.tenantAdmin.auth })).statusCode, status === 204 ? 404 : 200, 'the user is gone exactly when the delete succeeded');
      assert.equal(await h.useKey(victimKey.apiKey), status === 204 ? 401 : 200);
      return status;
    },
  },
  {
    op: 'verify the key',
    mutates: false,
    expect: { tenantAdmin: 200, owner: 403, otherUser: 403, foreignAdmin: 404, foreignUser: 403 },
    run: async (h, a, k) => {
      const res = await h.inject('POST', '/v1/apiKeys/verify', { headers: a.auth, body: { key: k.apiKey } });
      if (res.statusCode !== 200) return res.statusCode;
      return res.json().code === 'VALID' ? 200 : 404;
    },
  },
];

for (const credential of ['token', 'apiKey'] as const) {
  eachDatabase(`permission matrix, signed in with ${credential === 'token' ? 'a session token' : 'an API key'}`, (h) => {
    let people: Record<Actor, Caller>;
    let seq = 0;

    before(async () => {
      const foreignAdmin = await h().createTenant(`other-${credential}`);
      const signedIn: Record<Actor, Caller> = {
        tenantAdmin: h().admin,
        owner: await h().createUser(),
        otherUser: await h().createUser(),
        foreignAdmin,
        foreignUser: await h().createUser({ by: foreignAdmin }),
      };
      if (credential === 'token') {
        people = signedIn;
        return;
      }
      // Each actor acts through an API key of their own instead of a token.
      people = {} as Record<Actor, Caller>;
      for (const actor of actors) {
        const { apiKey } = await h().createKey(signedIn[actor], { name: `actor-key-${actor}`, days: 300 });
        people[actor] = { ...signedIn[actor], auth: { ApiKey: apiKey } };
      }
    });

    for (const cell of cells) {
      for (const actor of actors) {
        it(`${actor}: ${cell.op} → ${cell.expect[actor]}`, async () => {
          const key = await h().createKey(people.owner, { name: `target-${++seq}` });
          const beforeState = (await h().inject('GET', `/v1/apiKeys/${key.uid}`, { headers: people.owner.auth })).json();
          const status = await cell.run(h(), people[actor], key, people);
          assert.equal(status, cell.expect[actor]);
          if (cell.mutates && status >= 400) {
            const after = await h().inject('GET', `/v1/apiKeys/${key.uid}`, { headers: people.owner.auth });
            assert.deepEqual(after.json(), beforeState, 'a refused request changes nothing');
            assert.equal(await h().useKey(key.apiKey), 200);
          }
        });
      }
    }
  });
}
