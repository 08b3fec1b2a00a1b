/**
 * Scopes on keys (CONTRACT §6.1): what create and update accept and refuse, how keys show them,
 * that a change holds at once, that it is audited, and that a key can never hand out more than
 * it holds (escalation).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { type Caller, eachDatabase, type Harness } from './helpers/harness.js';
import { assertPalette, assertV1ErrorBody } from './helpers/palette.js';

let seq = 0;

async function createScoped(h: Harness, by: Caller | Record<string, string>, spec: Record<string, unknown>, name = `s-${++seq}`) {
  const headers = 'auth' in by ? (by as Caller).auth : (by as Record<string, string>);
  return h.inject('POST', '/v1/apiKeys', { headers, body: { metadata: { name }, spec: { expiry: h.expiryIn(30), ...spec } } });
}

async function keyFor(h: Harness, owner: Caller, scopes: string[] | undefined, extra: Record<string, unknown> = {}) {
  const res = await createScoped(h, owner, { ...(scopes === undefined ? {} : { scopes }), ...extra });
  assert.equal(res.statusCode, 201, res.body);
  return res.json() as { apiKey: string; uid: string };
}

const getKey = async (h: Harness, uid: string) => (await h.inject('GET', `/v1/apiKeys/${uid}`, { headers: h.admin.auth })).json();

eachDatabase('scopes on keys', (h) => {
  it('a key made without scopes holds ["*"] and no allowlist; spec.scopes and spec.allowedCidrs are always shown, and still validate as Palette\'s v1ApiKey', async () => {
    const user = await h().createUser();
    const key = await h().createKey(user);
    const got = await getKey(h(), key.uid);
    assert.deepEqual(got.spec.scopes, ['*']);
    assert.deepEqual(got.spec.allowedCidrs, []);
    assertPalette('v1ApiKey', got);
    const scoped = await keyFor(h(), user, ['apiKeys:read', 'users:read'], { allowedCidrs: ['10.0.0.0/8'] });
    const shown = await getKey(h(), scoped.uid);
    assert.deepEqual(shown.spec.scopes, ['apiKeys:read', 'users:read']);
    assert.deepEqual(shown.spec.allowedCidrs, ['10.0.0.0/8']);
    assertPalette('v1ApiKey', shown);
    const list = (await h().inject('GET', '/v1/apiKeys', { headers: user.auth })).json();
    assertPalette('v1ApiKeys', list);
    assert.deepEqual(list.items.find((k: any) => k.metadata.uid === scoped.uid).spec.scopes, ['apiKeys:read', 'users:read']);
  });

  it('repeated scopes are kept once; the presets and resource wildcards of built-in resources are accepted', async () => {
    const user = await h().createUser();
    const k = await keyFor(h(), user, ['apiKeys:read', 'apiKeys:read', 'users:*']);
    assert.deepEqual((await getKey(h(), k.uid)).spec.scopes, ['apiKeys:read', 'users:*']);
    const ro = await keyFor(h(), user, ['apiKeys:read', 'users:read', 'audits:read']);
    assert.deepEqual((await getKey(h(), ro.uid)).spec.scopes, ['apiKeys:read', 'users:read', 'audits:read']);
    const none = await keyFor(h(), user, []);
    assert.deepEqual((await getKey(h(), none.uid)).spec.scopes, []);
    // A key with no scope can still say whose it is, and nothing more.
    assert.equal(await h().useKey(none.apiKey), 200);
    assert.equal((await h().inject('GET', '/v1/apiKeys', { headers: { ApiKey: none.apiKey } })).statusCode, 403);
  });

  it('bad scopes of every shape are refused with 400, naming the problem, and no key is made', async () => {
    const user = await h().createUser();
    const cases: [unknown, RegExp][] = [
      ['apiKeys:read', /spec[./]scopes/],
      [[''], /spec[./]scopes/],
      [['apiKeys'], /resource:action/],
      [['a:b:c'], /more than one ':'/],
      [['orders:re*d'], /wildcard/],
      [['orders:re ad'], /contains " "/],
      [['ä:read'], /contains "ä"/],
      [[`x:${'a'.repeat(127)}`], /spec\.scopes\.0 must be 1 to 128 characters/],
      [[1], /spec[./]scopes/],
      [[null], /spec[./]scopes/],
      [{ scope: 'x' }, /spec[./]scopes/],
      [Array.from({ length: 51 }, (_, i) => `orders:a${i}`), /spec[./]scopes/],
      [['orders:read'], /"orders:read" is unknown/],
      [['orders:*'], /"orders:\*" is unknown/],
      [['apiKeys:frobnicate'], /"apiKeys:frobnicate" is unknown/],
    ];
    for (const [scopes, message] of cases) {
      const name = `bad-${++seq}`;
      const res = await createScoped(h(), user, { scopes }, name);
      assert.equal(res.statusCode, 400, `${JSON.stringify(scopes)}: ${res.body}`);
      const body = assertV1ErrorBody(res.body);
      assert.equal(body.code, 'BadRequest');
      assert.match(body.message, message, JSON.stringify(scopes));
      const names = (await h().inject('GET', '/v1/apiKeys', { headers: user.auth })).json().items.map((k: any) => k.metadata.name);
      assert.ok(!names.includes(name), 'no key was made');
    }
  });

  it('a tenant scope may be given once it is in the catalogue; its resource wildcard then too', async () => {
    const user = await h().createUser();
    assert.equal((await createScoped(h(), user, { scopes: ['billing:read'] })).statusCode, 400);
    assert.equal((await h().inject('PUT', '/v1/scopes/billing:read', { headers: h().admin.auth, body: { description: 'Read invoices' } })).statusCode, 201);
    const k = await keyFor(h(), user, ['billing:read']);
    const w = await keyFor(h(), user, ['billing:*']);
    assert.deepEqual((await getKey(h(), k.uid)).spec.scopes, ['billing:read']);
    assert.deepEqual((await getKey(h(), w.uid)).spec.scopes, ['billing:*']);
    // Another tenant's catalogue is its own.
    const other = await h().createTenant(`t${++seq}`);
    const res = await createScoped(h(), other, { scopes: ['billing:read'] });
    assert.equal(res.statusCode, 400, res.body);
  });

  it('PUT changes scopes (absent: unchanged); the change holds at once, even for a key just used (cached); audited with from and to', async () => {
    const user = await h().createUser();
    const key = await h().createKey(user);
    assert.equal((await h().inject('GET', '/v1/apiKeys', { headers: { ApiKey: key.apiKey } })).statusCode, 200);
    const put = await h().inject('PUT', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { spec: { scopes: ['users:read'] } } });
    assert.equal(put.statusCode, 204, put.body);
    const refused = await h().inject('GET', '/v1/apiKeys', { headers: { ApiKey: key.apiKey } });
    assert.equal(refused.statusCode, 403);
    assert.equal(refused.json().details.missingScope, 'apiKeys:read');
    // A rename leaves the scopes alone.
    assert.equal((await h().inject('PUT', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { metadata: { name: `renamed-${++seq}` } } })).statusCode, 204);
    assert.deepEqual((await getKey(h(), key.uid)).spec.scopes, ['users:read']);
    const audit = (await h().inject('GET', `/v1/audits?resourceUid=${key.uid}`, { headers: h().admin.auth })).json().items;
    const change = audit.find((e: any) => e.spec.action === 'apiKey.update' && e.spec.details.scopes);
    assert.deepEqual(change.spec.details.scopes, { from: ['*'], to: ['users:read'] });
    const created = audit.find((e: any) => e.spec.action === 'apiKey.create');
    assert.deepEqual(created.spec.details.scopes, ['*']);
    assert.deepEqual(created.spec.details.allowedCidrs, []);
  });

  it('bad scopes on PUT are refused with 400 and change nothing', async () => {
    const user = await h().createUser();
    const key = await keyFor(h(), user, ['apiKeys:read']);
    for (const scopes of [null, 'x', ['nope'], ['orders:read'], [7]]) {
      const res = await h().inject('PUT', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { spec: { scopes } } });
      assert.equal(res.statusCode, 400, `${JSON.stringify(scopes)}: ${res.body}`);
      assertV1ErrorBody(res.body);
    }
    assert.deepEqual((await getKey(h(), key.uid)).spec.scopes, ['apiKeys:read']);
  });
});

eachDatabase('scopes on keys: escalation', (h) => {
  it('a key cannot create a key wider than itself: absent scopes mean "*", other scopes must be covered; within its scopes it may', async () => {
    const user = await h().createUser();
    const writer = await keyFor(h(), user, ['apiKeys:write', 'apiKeys:read']);
    const as = { ApiKey: writer.apiKey };
    const before = (await h().inject('GET', '/v1/apiKeys', { headers: user.auth })).json().items.length;
    for (const [scopes, missing] of [
      [undefined, ['*']],
      [['*'], ['*']],
      [['users:read'], ['users:read']],
      [['apiKeys:*'], ['apiKeys:*']],
      [['apiKeys:read', 'audits:read', 'keys:verify'], ['audits:read', 'keys:verify']],
    ] as const) {
      const res = await createScoped(h(), as, scopes === undefined ? {} : { scopes });
      assert.equal(res.statusCode, 403, `${JSON.stringify(scopes)}: ${res.body}`);
      const body = res.json();
      assert.equal(body.code, 'Forbidden');
      assert.deepEqual(body.details.missing, missing);
      for (const m of missing) assert.ok(body.message.includes(`"${m}"`), body.message);
    }
    assert.equal((await h().inject('GET', '/v1/apiKeys', { headers: user.auth })).json().items.length, before, 'no key was made');
    assert.equal((await createScoped(h(), as, { scopes: ['apiKeys:read'] })).statusCode, 201);
    assert.equal((await createScoped(h(), as, { scopes: [] })).statusCode, 201);
    // A resource wildcard hands out what it covers.
    const wild = await keyFor(h(), user, ['apiKeys:*']);
    assert.equal((await createScoped(h(), { ApiKey: wild.apiKey }, { scopes: ['apiKeys:*', 'apiKeys:rotateSelf'] })).statusCode, 201);
    // And a full key anything, as a person may.
    const full = await keyFor(h(), user, ['*']);
    assert.equal((await createScoped(h(), { ApiKey: full.apiKey }, { scopes: ['users:*', 'audits:read'] })).statusCode, 201);
    assert.equal((await createScoped(h(), { ApiKey: full.apiKey }, {})).statusCode, 201);
  });

  it('a key cannot widen a key through PUT, its own or another; narrowing, and sending back unchanged scopes, are fine', async () => {
    const user = await h().createUser();
    const writer = await keyFor(h(), user, ['apiKeys:write', 'apiKeys:read']);
    const as = { ApiKey: writer.apiKey };
    const narrow = await keyFor(h(), user, ['apiKeys:read']);
    const wide = await keyFor(h(), user, ['*']);
    for (const [uid, scopes] of [
      [writer.uid, ['*']],
      [writer.uid, ['apiKeys:write', 'apiKeys:read', 'users:write']],
      [narrow.uid, ['*']],
      [narrow.uid, ['apiKeys:*']],
      [narrow.uid, ['audits:read']],
    ] as const) {
      const res = await h().inject('PUT', `/v1/apiKeys/${uid}`, { headers: as, body: { spec: { scopes } } });
      assert.equal(res.statusCode, 403, `${uid} ${JSON.stringify(scopes)}: ${res.body}`);
      assert.equal(res.json().code, 'Forbidden');
    }
    assert.deepEqual((await getKey(h(), writer.uid)).spec.scopes, ['apiKeys:write', 'apiKeys:read']);
    assert.deepEqual((await getKey(h(), narrow.uid)).spec.scopes, ['apiKeys:read']);
    // Narrowing a wider key to what the caller holds is fine.
    assert.equal((await h().inject('PUT', `/v1/apiKeys/${wide.uid}`, { headers: as, body: { spec: { scopes: ['apiKeys:read'] } } })).statusCode, 204);
    assert.deepEqual((await getKey(h(), wide.uid)).spec.scopes, ['apiKeys:read']);
    // A client that read a wider key and sends its scopes back while renaming it widens nothing.
    const other = await keyFor(h(), user, ['*']);
    const rename = await h().inject('PUT', `/v1/apiKeys/${other.uid}`, { headers: as, body: { metadata: { name: `r-${++seq}` }, spec: { scopes: ['*'] } } });
    assert.equal(rename.statusCode, 204, rename.body);
  });

  it("a tenant admin's scoped key acting on other users: its scopes bound it, its role does not widen them", async () => {
    const admin = await h().createUser({ admin: true });
    const user = await h().createUser();
    const usersKey = await h().createKey(user);
    const reader = await keyFor(h(), admin, ['apiKeys:read', 'users:read']);
    const asReader = { ApiKey: reader.apiKey };
    // It sees the other user's key and the users (read), and can change none of it.
    assert.equal((await h().inject('GET', `/v1/apiKeys/${usersKey.uid}`, { headers: asReader })).statusCode, 200);
    assert.equal((await h().inject('GET', '/v1/users', { headers: asReader })).statusCode, 200);
    for (const [method, url, body] of [
      ['PATCH', `/v1/apiKeys/${usersKey.uid}`, { isActive: false }],
      ['DELETE', `/v1/apiKeys/${usersKey.uid}`, undefined],
      ['DELETE', `/v1/users/${user.uid}`, undefined],
      ['PUT', `/v1/users/${user.uid}`, { spec: { roles: ['tenant-admin'] } }],
      ['POST', '/v1/apiKeys', { metadata: { name: 'x' }, spec: { expiry: h().expiryIn(3), userUid: user.uid, scopes: [] } }],
    ] as const) {
      const res = await h().inject(method, url, { headers: asReader, body });
      assert.equal(res.statusCode, 403, `${method} ${url}: ${res.body}`);
    }
    assert.equal(await h().useKey(usersKey.apiKey), 200, "the user's key still works");
    assert.ok((await h().inject('GET', `/v1/users/${user.uid}`, { headers: h().admin.auth })).json().spec.roles.length === 0);
    // With apiKeys:write it may make the user a key, but only within its own scopes.
    const writer = await keyFor(h(), admin, ['apiKeys:write']);
    const asWriter = { ApiKey: writer.apiKey };
    const wider = await createScoped(h(), asWriter, { userUid: user.uid, scopes: ['*'] });
    assert.equal(wider.statusCode, 403, wider.body);
    const widerDefault = await createScoped(h(), asWriter, { userUid: user.uid });
    assert.equal(widerDefault.statusCode, 403, widerDefault.body);
    const within = await createScoped(h(), asWriter, { userUid: user.uid, scopes: ['apiKeys:write'] });
    assert.equal(within.statusCode, 201, within.body);
    // ... and cannot widen the user's existing key.
    const narrowUserKey = await keyFor(h(), user, ['apiKeys:read']);
    const widen = await h().inject('PUT', `/v1/apiKeys/${narrowUserKey.uid}`, { headers: asWriter, body: { spec: { scopes: ['*'] } } });
    assert.equal(widen.statusCode, 403, widen.body);
    assert.deepEqual((await getKey(h(), narrowUserKey.uid)).spec.scopes, ['apiKeys:read']);
  });

  it("a plain user's key never gains admin power, whatever it holds", async () => {
    const user = await h().createUser();
    const other = await h().createUser();
    const full = await keyFor(h(), user, ['*']);
    const as = { ApiKey: full.apiKey };
    assert.equal((await h().inject('GET', '/v1/users', { headers: as })).statusCode, 403);
    assert.equal((await createScoped(h(), as, { userUid: other.uid, scopes: [] })).statusCode, 403);
    assert.equal((await h().inject('PUT', '/v1/scopes/evil:thing', { headers: as, body: {} })).statusCode, 403);
    assert.equal((await h().inject('POST', '/v1/apiKeys/verify', { headers: as, body: { key: full.apiKey } })).statusCode, 403);
  });

  it('people (sessions) may set any scopes on keys they manage', async () => {
    const user = await h().createUser();
    const k = await keyFor(h(), user, ['apiKeys:read']);
    assert.equal((await h().inject('PUT', `/v1/apiKeys/${k.uid}`, { headers: user.auth, body: { spec: { scopes: ['*'] } } })).statusCode, 204);
    assert.equal((await h().inject('PUT', `/v1/apiKeys/${k.uid}`, { headers: h().admin.auth, body: { spec: { scopes: ['users:*', 'keys:verify'] } } })).statusCode, 204);
    assert.deepEqual((await getKey(h(), k.uid)).spec.scopes, ['users:*', 'keys:verify']);
  });

  it('a 403 for a missing scope is not a guess: it does not count against the address (3 failures a minute here)', async () => {
    const user = await h().createUser();
    const k = await keyFor(h(), user, []);
    for (let i = 0; i < 5; i++) assert.equal((await h().inject('GET', '/v1/apiKeys', { headers: { ApiKey: k.apiKey } })).statusCode, 403);
    // Had they counted, the address would be blocked now, and a wrong key answered 429.
    assert.equal((await h().inject('GET', '/v1/users/info', { headers: { ApiKey: 'kw_not-a-real-key' } })).statusCode, 401);
  });
}, { authFailuresPerMinute: 3 });
