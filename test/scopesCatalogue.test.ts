/**
 * The scope catalogue (CONTRACT §6.1): GET /v1/scopes for any signed-in caller, PUT and DELETE
 * /v1/scopes/{name} for tenant admins (a key needs `*`), names raw or percent-encoded in the URL,
 * 409 while a key holds a scope, audited, one tenant's catalogue invisible to another.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { BUILT_IN_SCOPES } from '../src/domain/scopes.js';
import { type Caller, eachDatabase, type Harness } from './helpers/harness.js';
import { assertV1ErrorBody } from './helpers/palette.js';

let seq = 0;
const listed = async (h: Harness, by: Record<string, string>) => (await h.inject('GET', '/v1/scopes', { headers: by })).json().items as { name: string; description: string; builtIn: boolean }[];
const put = (h: Harness, path: string, body: unknown, by: Record<string, string> = h.admin.auth) => h.inject('PUT', `/v1/scopes/${path}`, { headers: by, body });
const del = (h: Harness, path: string, by: Record<string, string> = h.admin.auth) => h.inject('DELETE', `/v1/scopes/${path}`, { headers: by });

async function keyWith(h: Harness, owner: Caller, scopes: string[]) {
  const res = await h.inject('POST', '/v1/apiKeys', { headers: owner.auth, body: { metadata: { name: `k-${++seq}` }, spec: { expiry: h.expiryIn(30), scopes } } });
  assert.equal(res.statusCode, 201, res.body);
  return res.json() as { apiKey: string; uid: string };
}

eachDatabase('the scope catalogue', (h) => {
  it('lists the built-in scopes first, then the tenant\'s by name, to any signed-in caller (a key needs no scope for it)', async () => {
    assert.equal((await put(h(), 'ledger:write', { description: 'Post entries' })).statusCode, 201);
    assert.equal((await put(h(), 'ledger:read', { description: 'Read the ledger' })).statusCode, 201);
    const user = await h().createUser();
    const bare = await keyWith(h(), user, []);
    for (const by of [user.auth, { ApiKey: bare.apiKey }, h().admin.auth]) {
      const items = await listed(h(), by);
      assert.deepEqual(items.slice(0, BUILT_IN_SCOPES.length), BUILT_IN_SCOPES.map((s) => ({ ...s, builtIn: true })));
      const own = items.slice(BUILT_IN_SCOPES.length).filter((s) => s.name.startsWith('ledger:'));
      assert.deepEqual(own, [
        { name: 'ledger:read', description: 'Read the ledger', builtIn: false },
        { name: 'ledger:write', description: 'Post entries', builtIn: false },
      ]);
      for (const s of items) assert.ok(s.description.length > 0 || !s.builtIn, `${s.name} has a description`);
    }
    assert.equal((await h().inject('GET', '/v1/scopes')).statusCode, 401);
  });

  it("PUT creates (201) and changes the description (200); each change is audited; another tenant sees none of it", async () => {
    const created = await put(h(), 'reports:export', { description: 'Export reports' });
    assert.equal(created.statusCode, 201);
    assert.deepEqual(created.json(), { name: 'reports:export', description: 'Export reports', builtIn: false });
    const changed = await put(h(), 'reports:export', { description: 'Export reports as CSV' });
    assert.equal(changed.statusCode, 200);
    assert.deepEqual(changed.json(), { name: 'reports:export', description: 'Export reports as CSV', builtIn: false });
    assert.equal((await put(h(), 'reports:export', { description: 'Export reports as CSV' })).statusCode, 200, 'idempotent');
    assert.equal((await put(h(), 'reports:blank', {})).statusCode, 201, 'the description may be left out');
    const audit = (await h().inject('GET', '/v1/audits?limit=50', { headers: h().admin.auth })).json().items.filter((e: any) => e.spec.resource.name === 'reports:export');
    assert.deepEqual(
      audit.map((e: any) => [e.spec.action, e.spec.resource.kind, e.spec.details]),
      [
        ['scope.update', 'scope', { description: { from: 'Export reports', to: 'Export reports as CSV' } }],
        ['scope.create', 'scope', { description: 'Export reports' }],
      ],
    );
    const other = await h().createTenant(`cat${++seq}`);
    assert.ok(!(await listed(h(), other.auth)).some((s) => s.name.startsWith('reports:')));
    // The other tenant may define the same name for itself.
    assert.equal((await put(h(), 'reports:export', { description: 'theirs' }, other.auth)).statusCode, 201);
    assert.equal((await listed(h(), h().admin.auth)).find((s) => s.name === 'reports:export')?.description, 'Export reports as CSV');
  });

  it('names in the URL may be raw or percent-encoded, `:` and `*` alike; decoded once', async () => {
    assert.equal((await put(h(), 'raw:name', { description: 'r' })).statusCode, 201);
    assert.equal((await put(h(), 'enc%3Aname', { description: 'e' })).statusCode, 201);
    assert.equal((await put(h(), 'enc%3aname.two', { description: 'e2' })).statusCode, 201);
    const names = (await listed(h(), h().admin.auth)).map((s) => s.name);
    for (const n of ['raw:name', 'enc:name', 'enc:name.two']) assert.ok(names.includes(n), n);
    // Wildcards are for keys, not catalogue entries: raw or encoded, 400.
    for (const path of ['*', '%2A', 'raw:*', 'raw%3A%2A', 'raw:%2a']) {
      const res = await put(h(), path, { description: 'x' });
      assert.equal(res.statusCode, 400, `${path}: ${res.body}`);
      assert.match(assertV1ErrorBody(res.body).message, /wildcard/);
    }
    // Encoded twice is decoded once: `%3A` is left, which no name holds.
    const twice = await put(h(), 'raw%253Aname', { description: 'x' });
    assert.equal(twice.statusCode, 400, twice.body);
    assert.equal((await del(h(), 'enc%3Aname')).statusCode, 204);
    assert.equal((await del(h(), 'raw:name')).statusCode, 204);
    const after = (await listed(h(), h().admin.auth)).map((s) => s.name);
    assert.ok(!after.includes('enc:name') && !after.includes('raw:name'));
  });

  it('bad names and bodies of every shape: 400 (409 for a built-in name), and nothing changes', async () => {
    const before = await listed(h(), h().admin.auth);
    const cases: [string, unknown, number][] = [
      ['nocolon', { description: 'x' }, 400],
      ['a:b:c', { description: 'x' }, 400],
      ['orders:re%20ad', { description: 'x' }, 400],
      ['%C3%A4:read', { description: 'x' }, 400],
      [`x:${'a'.repeat(127)}`, { description: 'x' }, 400],
      ['apiKeys:read', { description: 'mine now' }, 409],
      ['keys:verify', {}, 409],
      ['apiKeys:frobnicate', { description: 'x' }, 400],
      ['users:export', { description: 'x' }, 400],
      ['ok:name', { description: 'x'.repeat(1025) }, 400],
      ['ok:name', { description: 7 }, 400],
      ['ok:name', { description: 'bidi \u202e' }, 400],
      ['ok:name', [], 400],
      // Sent as text/plain by inject: not JSON at all.
      ['ok:name', 'text', 415],
      // A dot segment is resolved before routing: it names no scope, and reaches no scope route.
      ['%2e%2e', {}, 404],
    ];
    for (const [path, body, status] of cases) {
      const res = await put(h(), path, body);
      assert.equal(res.statusCode, status, `${path} ${JSON.stringify(body)}: ${res.body}`);
      assertV1ErrorBody(res.body);
    }
    for (const payload of ['null', '"text"', '{"description": "x"', '[1]']) {
      const res = await h().inject('PUT', '/v1/scopes/ok:name', { headers: { ...h().admin.auth, 'content-type': 'application/json' }, payload });
      assert.equal(res.statusCode, 400, `${payload}: ${res.body}`);
    }
    assert.deepEqual(await listed(h(), h().admin.auth), before);
  });

  it('only a tenant admin changes the catalogue; a key needs `*` for it (tenant security policy)', async () => {
    const user = await h().createUser();
    const admin = await h().createUser({ admin: true });
    const wideUser = await keyWith(h(), user, ['*']);
    const narrowAdmin = await keyWith(h(), admin, ['apiKeys:write', 'apiKeys:read', 'users:write', 'users:read', 'audits:read', 'keys:verify']);
    const fullAdmin = await keyWith(h(), admin, ['*']);
    assert.equal((await put(h(), 'team:x', {}, user.auth)).statusCode, 403);
    assert.equal((await put(h(), 'team:x', {}, { ApiKey: wideUser.apiKey })).statusCode, 403);
    const narrow = await put(h(), 'team:x', {}, { ApiKey: narrowAdmin.apiKey });
    assert.equal(narrow.statusCode, 403);
    assert.equal(narrow.json().details.missingScope, '*');
    assert.ok(!(await listed(h(), h().admin.auth)).some((s) => s.name === 'team:x'));
    assert.equal((await put(h(), 'team:x', {}, { ApiKey: fullAdmin.apiKey })).statusCode, 201);
    assert.equal((await del(h(), 'team:x', user.auth)).statusCode, 403);
    assert.equal((await del(h(), 'team:x', { ApiKey: narrowAdmin.apiKey })).statusCode, 403);
    assert.equal((await del(h(), 'team:x', { ApiKey: fullAdmin.apiKey })).statusCode, 204);
  });

  it('DELETE: 404 unknown, 409 built-in, 409 while any key of the tenant holds exactly that scope (not through a wildcard); audited', async () => {
    assert.equal((await del(h(), 'never:was')).statusCode, 404);
    assert.equal((await del(h(), 'apiKeys:read')).statusCode, 409);
    assert.equal((await put(h(), 'stock:count', { description: 'Count stock' })).statusCode, 201);
    assert.equal((await put(h(), 'stock:move', { description: 'Move stock' })).statusCode, 201);
    const user = await h().createUser();
    const holder = await keyWith(h(), user, ['stock:count', 'apiKeys:read']);
    const holder2 = await keyWith(h(), h().admin, ['stock:count']);
    // Revoked keys hold their scopes too: re-activating one must not bring back an unknown scope.
    await h().inject('PATCH', `/v1/apiKeys/${holder2.uid}`, { headers: h().admin.auth, body: { isActive: false } });
    await keyWith(h(), user, ['stock:*']);
    const refused = await del(h(), 'stock:count');
    assert.equal(refused.statusCode, 409);
    assert.match(refused.json().message, /2 API keys hold the scope "stock:count"/);
    assert.ok((await listed(h(), h().admin.auth)).some((s) => s.name === 'stock:count'));
    // Only an exact holder blocks: stock:* does not hold stock:move.
    assert.equal((await del(h(), 'stock:move')).statusCode, 204);
    // Once no key holds it, it goes.
    assert.equal((await h().inject('PUT', `/v1/apiKeys/${holder.uid}`, { headers: user.auth, body: { spec: { scopes: ['apiKeys:read'] } } })).statusCode, 204);
    assert.equal((await h().inject('DELETE', `/v1/apiKeys/${holder2.uid}`, { headers: h().admin.auth })).statusCode, 204);
    assert.equal((await del(h(), 'stock:count')).statusCode, 204);
    assert.equal((await del(h(), 'stock:count')).statusCode, 404);
    // And a key can no longer be given it.
    const res = await h().inject('POST', '/v1/apiKeys', { headers: user.auth, body: { metadata: { name: `k-${++seq}` }, spec: { expiry: h().expiryIn(3), scopes: ['stock:count'] } } });
    assert.equal(res.statusCode, 400);
    const audit = (await h().inject('GET', '/v1/audits?limit=100', { headers: h().admin.auth })).json().items;
    assert.ok(audit.some((e: any) => e.spec.action === 'scope.delete' && e.spec.resource.name === 'stock:count'));
    // A scope of another tenant's key does not block: that key holds the other tenant's scope.
    const other = await h().createTenant(`del${++seq}`);
    assert.equal((await put(h(), 'shared:name', {}, other.auth)).statusCode, 201);
    assert.equal((await put(h(), 'shared:name', {})).statusCode, 201);
    await keyWith(h(), other, ['shared:name']);
    assert.equal((await del(h(), 'shared:name')).statusCode, 204);
    assert.equal((await del(h(), 'shared:name', other.auth)).statusCode, 409);
  });

  it('a deletion racing key creations never leaves a key holding a scope the catalogue lost', async () => {
    const user = await h().createUser();
    for (let round = 0; round < 15; round++) {
      const name = `race:s${round}`;
      assert.equal((await put(h(), name, {})).statusCode, 201);
      const [created, deleted] = await Promise.all([
        h().inject('POST', '/v1/apiKeys', { headers: user.auth, body: { metadata: { name: `race-${round}` }, spec: { expiry: h().expiryIn(3), scopes: [name] } } }),
        del(h(), name),
      ]);
      const inCatalogue = (await listed(h(), h().admin.auth)).some((s) => s.name === name);
      // Either the key came first (the delete is 409) or the delete did (the key is 400).
      assert.ok(
        (created.statusCode === 201 && deleted.statusCode === 409 && inCatalogue) || (created.statusCode === 400 && deleted.statusCode === 204 && !inCatalogue),
        `round ${round}: create ${created.statusCode}, delete ${deleted.statusCode}, in catalogue ${inCatalogue}`,
      );
    }
  });

  it('a tenant has at most 1000 scopes of its own', async () => {
    const tenant = await h().createTenant(`full${++seq}`);
    const now = Date.now();
    await h().store.transaction(async (tx) => {
      for (let i = 0; i < 1000; i++) await tx.tenantScopes.insert({ tenantUid: tenant.tenantUid, name: `bulk:s${i}`, description: '', createdAt: now, updatedAt: now });
    });
    const res = await put(h(), 'bulk:one-more', {}, tenant.auth);
    assert.equal(res.statusCode, 409, res.body);
    assert.match(res.json().message, /1000 scopes/);
    assert.equal((await put(h(), 'bulk:s5', { description: 'changing one is fine' }, tenant.auth)).statusCode, 200);
  });
});
