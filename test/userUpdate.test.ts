/**
 * PUT and PATCH /v1/users/{uid} (Palette's Go SDK UpdateUser, v1UserPatch): who may change
 * what, the same rules as create, a tenant that always keeps a tenant admin, an audit entry per
 * change, and role changes that reach the user's API keys at once, cached or not, here and on
 * other instances.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createPostgres, databases, type TestDatabase } from './helpers/databases.js';
import { type Caller, eachDatabase } from './helpers/harness.js';
import { http, type ServerProcess, startServer } from './helpers/server.js';

eachDatabase('Users: PUT and PATCH /v1/users/{uid}', (h) => {
  const getUser = async (uid: string, by: Caller = h().admin) => {
    const res = await h().inject('GET', `/v1/users/${uid}`, { headers: by.auth });
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  };
  const put = (uid: string, body: unknown, by: Caller = h().admin) => h().inject('PUT', `/v1/users/${uid}`, { headers: by.auth, body });
  const patch = (uid: string, body: unknown, by: Caller = h().admin) => h().inject('PATCH', `/v1/users/${uid}`, { headers: by.auth, body });
  const audits = async (uid: string) =>
    (await h().inject('GET', `/v1/audits?resourceUid=${uid}&limit=100`, { headers: h().admin.auth })).json().items.filter((e: any) => e.spec.action === 'user.update');

  it("PUT, as the Go SDK's UpdateUser sends it: a tenant admin changes names, email and roles", async () => {
    const user = await h().createUser();
    const email = `renamed-${Date.now()}@example.com`;
    const res = await put(user.uid, {
      metadata: { name: 'Ada Lovelace', uid: user.uid, annotations: { any: 'thing' } },
      spec: { emailId: email.toUpperCase(), firstName: 'Ada', lastName: 'Lovelace', roles: ['auditor', 'auditor'] },
    });
    assert.equal(res.statusCode, 204, res.body);
    const got = await getUser(user.uid);
    assert.deepEqual(got.spec, { emailId: email, firstName: 'Ada', lastName: 'Lovelace', roles: ['auditor'], kind: 'person' });
    assert.equal(got.metadata.name, 'Ada Lovelace');
    // The password is unchanged, and signs in under the new email.
    await h().signIn(email, user.password);

    const [entry] = await audits(user.uid);
    assert.ok(entry, 'the change is audited');
    assert.equal(entry.spec.actor.userUid, h().admin.uid);
    assert.deepEqual(entry.spec.details.changes.email, { from: user.email, to: email });
    assert.equal(entry.spec.details.changes.firstName.to, 'Ada');
    assert.equal(entry.spec.details.via, 'PUT');
    assert.deepEqual(entry.spec.details.changes.roles, { from: [], to: ['auditor'] });
    assert.ok(!JSON.stringify(entry).includes(user.password), 'no password in the audit');

    // Fields left out stay as they are.
    assert.equal((await put(user.uid, { spec: { lastName: 'Byron' } })).statusCode, 204);
    assert.deepEqual((await getUser(user.uid)).spec, { emailId: email, firstName: 'Ada', lastName: 'Byron', roles: ['auditor'], kind: 'person' });
  });

  it('PUT: metadata.name sets the names when spec gives none; sending back what was read changes nothing', async () => {
    const user = await h().createUser();
    assert.equal((await put(user.uid, { metadata: { name: 'Grace Brewster Hopper' } })).statusCode, 204);
    let got = await getUser(user.uid);
    assert.equal(got.spec.firstName, 'Grace');
    assert.equal(got.spec.lastName, 'Brewster Hopper');
    // A user without names is presented under their email: PUT back as read, they stay without names.
    assert.equal((await put(user.uid, { spec: { firstName: '', lastName: '' } })).statusCode, 204);
    got = await getUser(user.uid);
    assert.equal(got.metadata.name, user.email);
    assert.equal((await put(user.uid, { metadata: got.metadata, spec: got.spec })).statusCode, 204);
    got = await getUser(user.uid);
    assert.equal(got.spec.firstName, '');
    assert.equal(got.spec.lastName, '');
  });

  it('a plain user may change their own first and last name, and nothing else', async () => {
    const user = await h().createUser();
    const other = await h().createUser();
    assert.equal((await put(user.uid, { spec: { firstName: 'Mine', lastName: 'Own' } }, user)).statusCode, 204);
    const read = await getUser(user.uid, user);
    assert.equal(read.spec.firstName, 'Mine');
    // Sending back the email and roles as read is not a change.
    assert.equal((await put(user.uid, { metadata: read.metadata, spec: { ...read.spec, emailId: read.spec.emailId.toUpperCase() } }, user)).statusCode, 204);

    const email = await put(user.uid, { spec: { emailId: 'elsewhere@example.com' } }, user);
    assert.equal(email.statusCode, 403);
    assert.equal(email.json().code, 'Forbidden');
    assert.match(email.json().message, /first and last name/);
    const promote = await put(user.uid, { spec: { roles: ['tenant-admin'] } }, user);
    assert.equal(promote.statusCode, 403);
    assert.equal((await h().inject('GET', '/v1/users', { headers: user.auth })).statusCode, 403, 'still not an admin');
    assert.deepEqual((await getUser(user.uid)).spec, read.spec, 'the refusals changed nothing');

    // Another user: as if they did not exist. PATCH is for tenant admins.
    assert.equal((await put(other.uid, { spec: { firstName: 'Nope' } }, user)).statusCode, 404);
    const ownPatch = await patch(user.uid, [{ op: 'replace', path: '/spec/firstName', value: 'P' }], user);
    assert.equal(ownPatch.statusCode, 403);
    assert.match(ownPatch.json().message, /PUT/);
    assert.equal((await patch(other.uid, [{ op: 'replace', path: '/spec/firstName', value: 'P' }], user)).statusCode, 404);
  });

  it('PATCH: add, replace and remove on names, email, roles, roles/- and metadata/name', async () => {
    const user = await h().createUser();
    const steps: [unknown[], Record<string, unknown>][] = [
      [[{ op: 'replace', path: '/spec/firstName', value: 'Katherine' }, { op: 'add', path: '/spec/roles/-', value: 'auditor' }], { firstName: 'Katherine', roles: ['auditor'] }],
      [[{ op: 'add', path: '/spec/roles/-', value: 'viewer' }, { op: 'add', path: '/spec/roles/-', value: 'auditor' }], { roles: ['auditor', 'viewer'] }],
      [[{ op: 'remove', path: '/spec/roles/0' }], { roles: ['viewer'] }],
      [[{ op: 'replace', path: '/spec/roles/0', value: 'operator' }, { op: 'add', path: '/spec/roles/0', value: 'first' }], { roles: ['first', 'operator'] }],
      [[{ op: 'remove', path: '/spec/roles' }], { roles: [] }],
      [[{ op: 'replace', path: '/spec/roles', value: ['a', 'b'] }], { roles: ['a', 'b'] }],
      [[{ op: 'remove', path: '/spec/lastName' }], { lastName: '' }],
      [[{ op: 'add', path: '/metadata/name', value: 'Mary Jackson' }], { firstName: 'Mary', lastName: 'Jackson' }],
      [[{ op: 'replace', path: '/spec/emailId', value: `Patched-${user.uid}@Example.com` }], { emailId: `patched-${user.uid}@example.com` }],
    ];
    for (const [ops, expected] of steps) {
      const res = await patch(user.uid, ops);
      assert.equal(res.statusCode, 204, `${JSON.stringify(ops)}: ${res.body}`);
      const spec = (await getUser(user.uid)).spec;
      for (const [field, value] of Object.entries(expected)) assert.deepEqual(spec[field], value, `${JSON.stringify(ops)}: ${field}`);
    }
    assert.equal((await audits(user.uid)).length, steps.length, 'each patch is audited');
  });

  it('PATCH refuses what it cannot do with a 400 naming the operation, all or nothing', async () => {
    const user = await h().createUser();
    const taken = await h().createUser();
    const stranger = await h().createTenant(`patch-${Date.now()}`);
    const before = (await getUser(user.uid)).spec;
    const refusals: [unknown, number, RegExp?][] = [
      [[{ op: 'replace', path: '/spec/firstName', value: 'X' }, { op: 'move', from: '/spec/firstName', path: '/spec/lastName' }], 400, /"move" on "\/spec\/lastName"/],
      [[{ op: 'replace', path: '/spec/password', value: 'new-password-123' }], 400, /"\/spec\/password"/],
      [[{ op: 'test', path: '/spec/firstName', value: 'X' }], 400, /"test"/],
      [[{ op: 'copy', from: '/spec/firstName', path: '/spec/lastName' }], 400, /"copy"/],
      [[{ op: 'replace', path: '/spec/roles/-', value: 'x' }], 400, /roles\/-/],
      [[{ op: 'remove', path: '/spec/roles/5' }], 400, /past the end/],
      [[{ op: 'remove', path: '/spec/emailId' }], 400, /email/],
      [[{ op: 'replace', path: '/spec/emailId', value: 'not-an-email' }], 400, /email/],
      [[{ op: 'replace', path: '/spec/emailId', value: taken.email.toUpperCase() }], 409, /already exists/],
      [[{ op: 'replace', path: '/spec/firstName', value: 'x'.repeat(129) }], 400, /128/],
      [[{ op: 'replace', path: '/spec/firstName', value: 42 }], 400, /string/],
      [[{ op: 'replace', path: '/spec/roles', value: 'tenant-admin' }], 400, /array/],
      [[{ op: 'replace', path: '/spec/roles', value: Array.from({ length: 33 }, (_, i) => `r${i}`) }], 400, /32/],
      [[{ op: 'add', path: '/spec/roles/-', value: '' }], 400],
      [[{ op: 'replace', path: '/spec/firstName', value: 'bad\u001b[31m' }], 400, /control/],
      [[{ op: 'replace' }], 400],
      [[], 400],
      [{ op: 'replace', path: '/spec/firstName', value: 'X' }, 400],
      [null, 400],
    ];
    for (const [body, status, message] of refusals) {
      const res = await patch(user.uid, body);
      assert.equal(res.statusCode, status, `${JSON.stringify(body)}: ${res.body}`);
      assert.equal(res.json().code, status === 409 ? 'Conflict' : 'BadRequest');
      if (message) assert.match(res.json().message, message, JSON.stringify(body));
    }
    const empty = await h().inject('PATCH', `/v1/users/${user.uid}`, { headers: { ...h().admin.auth, 'content-type': 'application/json' }, payload: '' });
    assert.equal(empty.statusCode, 400);
    assert.deepEqual((await getUser(user.uid)).spec, before, 'nothing changed');
    assert.equal((await audits(user.uid)).length, 0, 'and nothing was audited');

    // Another tenant, either way round, and a user that does not exist: 404.
    const ops = [{ op: 'replace', path: '/spec/firstName', value: 'X' }];
    assert.equal((await patch(user.uid, ops, stranger)).statusCode, 404);
    assert.equal((await put(user.uid, { spec: { firstName: 'X' } }, stranger)).statusCode, 404);
    assert.equal((await patch(stranger.uid, ops)).statusCode, 404);
    assert.equal((await put(stranger.uid, { spec: { firstName: 'X' } })).statusCode, 404);
    assert.equal((await patch('ffffffffffffffffffffffff', ops)).statusCode, 404);
    const notFound = await put('ffffffffffffffffffffffff', { spec: { firstName: 'X' } });
    assert.equal(notFound.statusCode, 404);
    assert.equal(notFound.json().code, 'ResourceNotFound');

    // PUT's bad input: the same rules, and a body with nothing to change.
    for (const [body, status] of [
      [{ spec: { emailId: taken.email } }, 409],
      [{ spec: { emailId: 'nope' } }, 400],
      [{ spec: { lastName: 'y'.repeat(129) } }, 400],
      [{ spec: { roles: 'tenant-admin' } }, 400],
      [{ spec: { firstName: 7 } }, 400],
      [{}, 400],
      [{ spec: {} }, 400],
      [null, 400],
      [[], 400],
    ] as const) {
      const res = await put(user.uid, body);
      assert.equal(res.statusCode, status, `${JSON.stringify(body)}: ${res.body}`);
    }
    assert.deepEqual((await getUser(user.uid)).spec, before, 'nothing changed');
  });

  it('the tenant always keeps a tenant admin (409, saying what to do)', async () => {
    const first = await h().createTenant(`one-admin-${Date.now()}`);
    const demoteSelf = await put(first.uid, { spec: { roles: [] } }, first);
    assert.equal(demoteSelf.statusCode, 409);
    assert.equal(demoteSelf.json().code, 'Conflict');
    assert.match(demoteSelf.json().message, /only tenant admin/);
    assert.equal((await patch(first.uid, [{ op: 'remove', path: '/spec/roles' }], first)).statusCode, 409);
    assert.equal((await patch(first.uid, [{ op: 'replace', path: '/spec/roles/0', value: 'viewer' }], first)).statusCode, 409);
    // Other role changes of the only admin are fine.
    assert.equal((await patch(first.uid, [{ op: 'add', path: '/spec/roles/-', value: 'viewer' }], first)).statusCode, 204);

    const second = await h().createUser({ admin: true, by: first });
    assert.equal((await put(first.uid, { spec: { roles: [] } }, second)).statusCode, 204, 'with another admin, demotion is allowed');
    assert.equal((await h().inject('GET', '/v1/users', { headers: first.auth })).statusCode, 403, 'the demoted admin lost admin power at once');
    assert.equal((await put(second.uid, { spec: { roles: ['viewer'] } }, second)).statusCode, 409, 'now the second is the only one');
  });

  it('two admins demoting each other at the same moment leave the tenant one admin', async () => {
    for (let round = 0; round < 5; round++) {
      const first = await h().createTenant(`race-${round}-${Date.now()}`);
      const second = await h().createUser({ admin: true, by: first });
      const results = await Promise.all([put(second.uid, { spec: { roles: [] } }, first), put(first.uid, { spec: { roles: [] } }, second)]);
      // The loser is refused as the only admin left (409), or, when the winner's demotion committed
      // before the loser's request was authenticated, as the plain user it has become (404).
      const codes = results.map((r) => r.statusCode).sort();
      assert.ok(codes[0] === 204 && (codes[1] === 409 || codes[1] === 404), `round ${round}: ${results.map((r) => r.body).join(' ')}`);
      const users = (await h().inject('GET', '/v1/users?limit=0', { headers: results[0].statusCode === 204 ? first.auth : second.auth })).json().items;
      assert.equal(users.filter((u: any) => u.spec.roles.includes('tenant-admin')).length, 1);
    }
  });

  it("demoting an admin takes admin power from their API keys at once, though verification had cached it", async () => {
    const boss = await h().createUser({ admin: true });
    const key = await h().createKey(boss);
    const asKey = (method: string, url: string, body?: unknown) => h().inject(method, url, { headers: { ApiKey: key.apiKey }, body });
    // Used twice: the second use is served from the verification cache.
    assert.equal((await asKey('GET', '/v1/users')).statusCode, 200);
    assert.equal((await asKey('GET', '/v1/users')).statusCode, 200);
    assert.ok(h().services.cache.size > 0, 'the key is cached');

    assert.equal((await patch(boss.uid, [{ op: 'remove', path: '/spec/roles' }])).statusCode, 204);
    assert.equal((await asKey('GET', '/v1/users')).statusCode, 403, 'no longer a tenant admin');
    const other = await h().createUser();
    const forOther = await asKey('POST', '/v1/apiKeys', { metadata: { name: 'sneaky' }, spec: { expiry: h().expiryIn(1), userUid: other.uid } });
    assert.equal(forOther.statusCode, 403);
    assert.equal((await asKey('GET', `/v1/apiKeys?userUid=${other.uid}`)).json().items.length, 0);

    // And back: promotion gives the power back just as fast.
    assert.equal((await asKey('GET', '/v1/users')).statusCode, 403);
    assert.equal((await put(boss.uid, { spec: { roles: ['tenant-admin'] } })).statusCode, 204);
    assert.equal((await asKey('GET', '/v1/users')).statusCode, 200);
  });
});

const hasPostgres = databases().some((d) => d.name === 'postgres');

describe('a role change across instances [postgres]', { skip: !hasPostgres && 'PostgreSQL not available' }, () => {
  let db: TestDatabase;
  let a: ServerProcess;
  let b: ServerProcess;
  const env = () => ({ KEYWARD_DATABASE_URL: db.url, KEYWARD_SECRET: 'role-change-secret-0123', KEYWARD_ADMIN_PASSWORD: 'keeper-password-1' });

  before(async () => {
    db = await createPostgres();
    a = await startServer({ env: env() });
    b = await startServer({ env: env() });
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await db?.drop();
  });

  it("a demotion on A takes admin power from the user's keys on B within a second, though B had cached them", async () => {
    const signIn = await http(`${a.url}/v1/auth/authenticate`, { method: 'POST', body: { emailId: 'admin@keyward.local', password: 'keeper-password-1' } });
    const admin = { Authorization: signIn.body.Authorization };
    const created = await http(`${a.url}/v1/users`, {
      method: 'POST',
      headers: admin,
      body: { spec: { emailId: 'deputy@example.com', firstName: 'Deputy', roles: ['tenant-admin'], password: 'second-in-line-pw-1' } },
    });
    assert.equal(created.status, 201);
    const deputy = (await http(`${a.url}/v1/auth/authenticate`, { method: 'POST', body: { emailId: 'deputy@example.com', password: 'second-in-line-pw-1' } })).body.Authorization;
    const key = await http(`${a.url}/v1/apiKeys`, {
      method: 'POST',
      headers: { Authorization: deputy },
      body: { metadata: { name: 'deputy-key' }, spec: { expiry: new Date(Date.now() + 86_400_000).toISOString() } },
    });
    assert.equal(key.status, 201);
    const onB = async () => (await http(`${b.url}/v1/users`, { headers: { ApiKey: key.body.apiKey } })).status;
    for (let i = 0; i < 3; i++) assert.equal(await onB(), 200);

    const demote = await http(`${a.url}/v1/users/${created.body.uid}`, { method: 'PATCH', headers: admin, body: [{ op: 'remove', path: '/spec/roles' }] });
    assert.equal(demote.status, 204);
    const start = performance.now();
    for (;;) {
      const status = await onB();
      if (status === 403) break;
      assert.ok(performance.now() - start < 1000, `B still answers ${status} after 1 s`);
      await new Promise((r) => setTimeout(r, 5));
    }
  });
});
