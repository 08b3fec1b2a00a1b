/**
 * Route rules (`GET`/`PUT /v1/authRoutes`) and what forward-auth (`GET /v1/auth/check`) makes of
 * them, `?require=` and a key's allowlist (CONTRACT §6.1, design-11): validation of every bad
 * shape, first match, `*` and `**`, methods, default deny, audit mode counted once per window,
 * and hostile paths, none of which reaches a rule it should not.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp } from '../src/http/app.js';
import { OBSERVED_REFUSAL_WINDOW_MS } from '../src/service/observedRefusals.js';
import { type Caller, eachDatabase, type Harness } from './helpers/harness.js';

const CUSTOM_SCOPES = ['orders:read', 'orders:write', 'orders:refund', 'admin:all', 'reports:read', 'public:read', 'admin:write', 'people:delete'];

eachDatabase('route rules and forward-auth', (h) => {
  let seq = 0;
  // Sent as JSON whatever it is (a bare string or null too), as a client would.
  const put = (body: unknown, headers: Record<string, string> = h().admin.auth) =>
    h().app.inject({ method: 'PUT', url: '/v1/authRoutes', headers: { ...headers, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
  const get = (headers: Record<string, string> = h().admin.auth) => h().inject('GET', '/v1/authRoutes', { headers });
  const setRules = async (body: unknown) => {
    const res = await put(body);
    assert.equal(res.statusCode, 200, res.body);
    return res;
  };
  /** The tenant's custom scopes, once per harness. */
  const catalogued = new WeakSet<Harness>();
  const catalogue = async () => {
    if (catalogued.has(h())) return;
    for (const name of CUSTOM_SCOPES) {
      const res = await h().inject('PUT', `/v1/scopes/${encodeURIComponent(name)}`, { headers: h().admin.auth, body: { description: `${name} for tests` } });
      assert.ok(res.statusCode < 300, res.body);
    }
    catalogued.add(h());
  };
  const key = async (scopes: string[] = ['*'], opts: { allowedCidrs?: string[]; by?: Caller } = {}) => {
    await catalogue();
    const res = await h().inject('POST', '/v1/apiKeys', {
      headers: (opts.by ?? h().admin).auth,
      body: { metadata: { name: `route-key-${++seq}` }, spec: { expiry: h().expiryIn(30), scopes, allowedCidrs: opts.allowedCidrs } },
    });
    assert.equal(res.statusCode, 201, res.body);
    return res.json() as { apiKey: string; uid: string };
  };
  const check = (apiKey: string, opts: { method?: string; uri?: string; require?: string; ip?: string; headers?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { ApiKey: apiKey, ...opts.headers };
    if (opts.method !== undefined) headers['X-Original-Method'] = opts.method;
    if (opts.uri !== undefined) headers['X-Original-URI'] = opts.uri;
    const query = opts.require === undefined ? '' : `?require=${encodeURIComponent(opts.require)}`;
    return h().app.inject({ method: 'GET', url: `/v1/auth/check${query}`, headers, remoteAddress: opts.ip ?? '127.0.0.1' });
  };
  const reason = (res: LightMyRequestResponse) => (res.statusCode === 200 ? 'ok' : res.statusCode === 403 ? String(res.headers['x-keyward-reason']) : String(res.statusCode));
  const audits = async (resourceUid: string) => (await h().inject('GET', `/v1/audits?resourceUid=${resourceUid}&limit=1000`, { headers: h().admin.auth })).json().items as any[];

  it('GET answers the default until rules are set; PUT replaces them whole, answers what was saved, and is audited', async () => {
    const first = await get();
    assert.equal(first.statusCode, 200, first.body);
    assert.deepEqual(first.json(), { mode: 'enforce', default: 'allow', rules: [] });
    const body = {
      mode: 'audit',
      default: 'deny',
      rules: [
        { methods: ['GET'], path: '/orders/**', require: 'orders:read' },
        { methods: ['*'], path: '/health' },
      ],
    };
    const saved = await setRules(body);
    const expected = { ...body, rules: [body.rules[0], { methods: ['*'], path: '/health', require: '' }] };
    assert.deepEqual(saved.json(), expected);
    assert.deepEqual((await get()).json(), expected);
    const entry = (await audits(h().tenantUid)).find((a) => a.spec.action === 'authRoutes.update');
    assert.ok(entry, 'audited');
    assert.equal(entry.spec.actor.userUid, h().admin.uid);
    assert.deepEqual(entry.spec.details, { from: { mode: 'enforce', default: 'allow', rules: 0 }, to: { mode: 'audit', default: 'deny', rules: 2 } });
    await setRules({ mode: 'enforce', default: 'allow', rules: [] });
  });

  it('refuses every bad shape with 400 naming what is wrong, and changes nothing', async () => {
    const good = { mode: 'enforce', default: 'allow', rules: [{ methods: ['GET'], path: '/kept', require: 'orders:read' }] };
    await setRules(good);
    const rule = (r: object) => ({ mode: 'enforce', default: 'allow', rules: [{ methods: ['GET'], path: '/x', require: '', ...r }] });
    const deep = `${'('.repeat(40)}orders:read${')'.repeat(40)}`;
    const bad: [unknown, RegExp][] = [
      [null, /body/],
      [[], /body/],
      ['rules', /body/],
      [{}, /mode|default|rules/],
      [{ default: 'allow', rules: [] }, /mode/],
      [{ mode: 'enforce', rules: [] }, /default/],
      [{ mode: 'enforce', default: 'allow' }, /rules/],
      [{ mode: 'block', default: 'allow', rules: [] }, /mode/],
      [{ mode: 'enforce', default: 'maybe', rules: [] }, /default/],
      [{ mode: 'enforce', default: 'allow', rules: {} }, /rules/],
      [{ mode: 'enforce', default: 'allow', rules: [null] }, /rules/],
      [{ mode: 'enforce', default: 'allow', rules: ['GET /x'] }, /rules/],
      [{ mode: 'enforce', default: 'allow', rules: [], extra: 1 }, /unknown field "extra"/],
      [{ mode: 'enforce', default: 'allow', rules: [{ path: '/x' }] }, /methods/],
      [{ mode: 'enforce', default: 'allow', rules: [{ methods: ['GET'] }] }, /path/],
      [rule({ requires: 'orders:write' }), /unknown field "requires"/],
      [rule({ methods: [] }), /methods/],
      [rule({ methods: ['get'] }), /upper case/],
      [rule({ methods: ['G ET'] }), /method/],
      [rule({ methods: [1] }), /methods/],
      [rule({ methods: 'GET' }), /methods/],
      [rule({ methods: Array.from({ length: 17 }, (_, i) => `M${'X'.repeat(i)}`) }), /methods/],
      [rule({ path: 'orders' }), /start with "\/"/],
      [rule({ path: '' }), /path/],
      [rule({ path: '/orders/*x' }), /"\*" inside the segment/],
      [rule({ path: '/orders/x*' }), /"\*" inside the segment/],
      [rule({ path: '/a//b' }), /empty segment/],
      [rule({ path: '/a/../b' }), /".." segment/],
      [rule({ path: '/a/%2e' }), /contains/],
      [rule({ path: '/a\\b' }), /contains/],
      [rule({ path: '/a?b' }), /contains/],
      [rule({ path: `/${'a'.repeat(1100)}` }), /path/],
      [rule({ path: `/${Array(33).fill('a').join('/')}` }), /33 segments; at most 32/],
      [rule({ path: 7 }), /path/],
      [rule({ require: 'orders:read AND' }), /position|expect|end/i],
      [rule({ require: 'orders:read OR OR x:y' }), /position|expect/i],
      [rule({ require: '(orders:read' }), /position|parenthes|\)/i],
      [rule({ require: 'not a scope!' }), /.+/],
      [rule({ require: deep }), /nest|deep|level/i],
      [rule({ require: `orders:read OR ${'x:y OR '.repeat(400)}x:z` }), /2048|long|at most/i],
      [rule({ require: 123 }), /require/],
      [{ mode: 'enforce', default: 'allow', rules: Array.from({ length: 2001 }, (_, i) => ({ methods: ['GET'], path: `/r${i}` })) }, /2000/],
    ];
    for (const [body, message] of bad) {
      const res = await put(body);
      assert.equal(res.statusCode, 400, `${JSON.stringify(body).slice(0, 120)}: ${res.statusCode} ${res.body}`);
      assert.equal(res.json().code, 'BadRequest');
      assert.match(res.json().message, message, JSON.stringify(body).slice(0, 120));
    }
    // A rule's problem names its index.
    const third = await put({ mode: 'enforce', default: 'allow', rules: [{ methods: ['GET'], path: '/a' }, { methods: ['GET'], path: '/b' }, { methods: ['GET'], path: '/c*' }] });
    assert.match(third.json().message, /rules\[2\]/);
    assert.deepEqual((await get()).json(), good, 'nothing changed');
    const updates = (await audits(h().tenantUid)).filter((a) => a.spec.action === 'authRoutes.update');
    assert.equal(updates[0].spec.details.to.rules, 1, 'no refused PUT was audited');
  });

  it('takes 2,000 rules of a realistic size (past the 64 KB body limit of other routes), and matches the last rule as it matches the first', async () => {
    const rules = Array.from({ length: 2000 }, (_, i) => ({
      methods: ['GET', 'POST'],
      path: `/service-${i}/v1/things/*/details/**`,
      require: `orders:read AND (reports:read OR admin:all)`,
    }));
    const body = { mode: 'enforce', default: 'deny', rules };
    assert.ok(JSON.stringify(body).length > 64 * 1024);
    await setRules(body);
    assert.equal((await get()).json().rules.length, 2000);
    const k = await key(['orders:read', 'reports:read']);
    assert.equal(reason(await check(k.apiKey, { method: 'GET', uri: '/service-1999/v1/things/7/details' })), 'ok');
    assert.equal(reason(await check(k.apiKey, { method: 'GET', uri: '/service-0/v1/things/7/details/a/b' })), 'ok');
    assert.equal(reason(await check(k.apiKey, { method: 'GET', uri: '/service-2000/v1/things/7/details' })), 'route_denied');
    // A body past a megabyte is refused before it is read as rules.
    const huge = await put({ mode: 'enforce', default: 'deny', rules: [{ methods: ['GET'], path: `/${'a'.repeat(1024 * 1024)}` }] });
    assert.equal(huge.statusCode, 413);
    assert.equal((await get()).json().rules.length, 2000);
    await setRules({ mode: 'enforce', default: 'allow', rules: [] });
  });

  it('tenant admins only; a key needs "*" to read or change them; tenants are apart', async () => {
    const plain = await h().createUser();
    assert.equal((await get(plain.auth)).statusCode, 403);
    assert.equal((await put({ mode: 'enforce', default: 'deny', rules: [] }, plain.auth)).statusCode, 403);
    const narrow = await key(['apiKeys:read', 'apiKeys:write', 'users:read', 'users:write', 'audits:read']);
    const refused = await get({ ApiKey: narrow.apiKey });
    assert.equal(refused.statusCode, 403, refused.body);
    assert.equal(refused.json().details.missingScope, '*');
    assert.equal((await put({ mode: 'enforce', default: 'deny', rules: [] }, { ApiKey: narrow.apiKey })).statusCode, 403);
    const full = await key(['*']);
    assert.equal((await get({ ApiKey: full.apiKey })).statusCode, 200);
    assert.equal((await put({ mode: 'enforce', default: 'allow', rules: [] }, { ApiKey: full.apiKey })).statusCode, 200);
    // Another tenant's rules are its own.
    const other = await h().createTenant(`routes-${Math.random().toString(36).slice(2, 8)}`);
    assert.equal((await put({ mode: 'enforce', default: 'deny', rules: [] }, other.auth)).statusCode, 200);
    assert.deepEqual((await get()).json(), { mode: 'enforce', default: 'allow', rules: [] });
    assert.equal(reason(await check(full.apiKey, { method: 'GET', uri: '/anything' })), 'ok', "another tenant's default deny is not ours");
  });

  it('with no rules and default allow, any valid key passes, with or without the original request headers', async () => {
    await setRules({ mode: 'enforce', default: 'allow', rules: [] });
    const k = await key(['orders:read']);
    const res = await check(k.apiKey);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['x-keyward-key'], k.uid);
    assert.equal(res.headers['x-keyward-scopes'], 'orders:read');
    assert.equal(res.headers['x-keyward-user'], h().admin.uid);
    assert.equal(res.headers['x-keyward-tenant'], h().tenantUid);
    assert.deepEqual(res.json().scopes, ['orders:read']);
    assert.equal(res.headers['x-keyward-reason'], undefined);
    assert.equal(reason(await check(k.apiKey, { method: 'DELETE', uri: '/whatever/../x' })), 'ok');
    assert.equal((await check('kw_not_a_key', { method: 'GET', uri: '/x' })).statusCode, 401);
    const multi = await key(['orders:read', 'reports:read']);
    assert.equal((await check(multi.apiKey)).headers['x-keyward-scopes'], 'orders:read,reports:read');
  });

  it('the first matching rule decides; `*` is one segment, `**` any number; methods, GET covers HEAD; no match falls to the default', async () => {
    await setRules({
      mode: 'enforce',
      default: 'deny',
      rules: [
        { methods: ['POST'], path: '/orders/*/refund', require: 'orders:refund' },
        { methods: ['GET'], path: '/orders/*', require: 'orders:read' },
        { methods: ['POST', 'PUT', 'DELETE'], path: '/orders/**', require: 'orders:write' },
        { methods: ['GET'], path: '/orders/**', require: 'admin:all' },
        { methods: ['*'], path: '/public/**', require: '' },
        { methods: ['GET'], path: '/reports', require: 'reports:read OR admin:all' },
      ],
    });
    const reader = await key(['orders:read']);
    const writer = await key(['orders:write']);
    const refunder = await key(['orders:refund', 'orders:read']);
    const admin = await key(['admin:all']);
    const cases: [{ apiKey: string }, string, string, string][] = [
      [reader, 'GET', '/orders/42', 'ok'],
      [reader, 'HEAD', '/orders/42', 'ok'],
      [reader, 'get', '/orders/42', 'ok'],
      [reader, 'GET', '/ORDERS/42', 'ok'],
      // A trailing slash is read both as /orders/42 (rule 1) and as /orders/42/<empty> (a router's
      // /orders/:id/:sub with sub ""), which only rule 3's `**` matches: it needs admin:all too.
      [reader, 'GET', '/orders/42/', 'insufficient_scope'],
      [admin, 'GET', '/orders/42/', 'insufficient_scope'],
      [refunder, 'GET', '/orders/42/', 'insufficient_scope'],
      [reader, 'GET', '/orders/42?with=items', 'ok'],
      [reader, 'GET', '/orders', 'insufficient_scope'], // `*` needs one segment: falls to rule 3 (`**` matches zero)
      [reader, 'GET', '/orders/42/items', 'insufficient_scope'], // two segments: rule 3
      [admin, 'GET', '/orders/42/items', 'ok'],
      [admin, 'GET', '/orders', 'ok'],
      [reader, 'POST', '/orders/42', 'insufficient_scope'],
      [writer, 'POST', '/orders/42', 'ok'],
      [writer, 'DELETE', '/orders/42/items/7', 'ok'],
      [writer, 'POST', '/orders', 'ok'],
      [writer, 'POST', '/orders/42/refund', 'insufficient_scope'], // rule 0 comes first
      [refunder, 'POST', '/orders/42/refund', 'ok'],
      [refunder, 'PATCH', '/orders/42', 'route_denied'], // no rule for PATCH
      [reader, 'GET', '/public', 'ok'],
      [reader, 'OPTIONS', '/public/a/b/c', 'ok'],
      [reader, 'GET', '/reports', 'insufficient_scope'],
      [admin, 'GET', '/reports', 'ok'],
      [reader, 'GET', '/elsewhere', 'route_denied'],
      [admin, 'GET', '/', 'route_denied'],
    ];
    for (const [k, method, uri, expected] of cases) {
      const res = await check(k.apiKey, { method, uri });
      assert.equal(reason(res), expected, `${method} ${uri}: ${res.body}`);
      if (res.statusCode === 403) {
        assert.equal(res.json().code, 'Forbidden');
        assert.equal(res.json().details.reason, expected);
        assert.equal(res.headers['x-keyward-user'], undefined, 'a refusal names no one');
      }
    }
    const refused = await check(writer.apiKey, { method: 'POST', uri: '/orders/42/refund' });
    assert.deepEqual(refused.json().details.missing, ['orders:refund']);
    assert.equal(refused.json().details.rule, 0);
    assert.match(refused.json().message, /"orders:refund".*rule 0.*POST \/orders\/42\/refund/);
    const fewest = await check(reader.apiKey, { method: 'GET', uri: '/reports' });
    assert.deepEqual(fewest.json().details.missing, ['reports:read'], 'an OR names its alternative missing fewest, the first on ties');
    // Default allow: an unmatched request passes, matched ones are still checked.
    await setRules({ mode: 'enforce', default: 'allow', rules: [{ methods: ['GET'], path: '/orders/**', require: 'orders:read' }] });
    assert.equal(reason(await check(writer.apiKey, { method: 'GET', uri: '/elsewhere' })), 'ok');
    assert.equal(reason(await check(writer.apiKey, { method: 'GET', uri: '/orders/1' })), 'insufficient_scope');
  });

  it('?require= AND the matching rule: both must hold, and a refusal names everything missing', async () => {
    await setRules({ mode: 'enforce', default: 'allow', rules: [{ methods: ['*'], path: '/orders/**', require: 'orders:write' }] });
    const none = await key(['reports:read']);
    const both = await key(['orders:read', 'orders:write']);
    const onlyRead = await key(['orders:read']);
    const res = await check(none.apiKey, { method: 'POST', uri: '/orders/1', require: 'orders:read' });
    assert.equal(reason(res), 'insufficient_scope');
    assert.deepEqual(res.json().details.missing, ['orders:read', 'orders:write']);
    assert.equal(reason(await check(onlyRead.apiKey, { method: 'POST', uri: '/orders/1', require: 'orders:read' })), 'insufficient_scope');
    assert.deepEqual((await check(onlyRead.apiKey, { method: 'POST', uri: '/orders/1', require: 'orders:read' })).json().details.missing, ['orders:write']);
    assert.equal(reason(await check(both.apiKey, { method: 'POST', uri: '/orders/1', require: 'orders:read' })), 'ok');
    // ?require= alone, where no rule matches.
    assert.equal(reason(await check(onlyRead.apiKey, { method: 'GET', uri: '/other', require: 'orders:read AND (reports:read OR admin:all)' })), 'insufficient_scope');
    assert.equal(reason(await check(both.apiKey, { method: 'GET', uri: '/other', require: 'orders:read AND orders:write' })), 'ok');
    assert.equal(reason(await check(both.apiKey, { method: 'GET', uri: '/other', require: 'ORDERS:read' })), 'insufficient_scope', 'scope names are case-sensitive');
    // A bad expression is the proxy's configuration: 400.
    for (const require of ['orders:read AND', '((orders:read', 'a'.repeat(3000)]) {
      assert.equal((await check(both.apiKey, { method: 'GET', uri: '/other', require })).statusCode, 400, require.slice(0, 20));
    }
  });

  it("the key's allowlist is checked against the client's address first, with X-Keyward-Reason address_not_allowed", async () => {
    await setRules({ mode: 'audit', default: 'deny', rules: [] });
    const k = await key(['orders:read'], { allowedCidrs: ['10.0.0.0/8', '2001:db8::/32'] });
    assert.equal(reason(await check(k.apiKey, { method: 'GET', uri: '/x', ip: '10.1.2.3' })), 'ok');
    assert.equal(reason(await check(k.apiKey, { method: 'GET', uri: '/x', ip: '::ffff:10.1.2.3' })), 'ok');
    assert.equal(reason(await check(k.apiKey, { method: 'GET', uri: '/x', ip: '2001:db8::5' })), 'ok');
    const outside = await check(k.apiKey, { method: 'GET', uri: '/x', ip: '192.168.1.1' });
    assert.equal(reason(outside), 'address_not_allowed', outside.body);
    assert.equal(outside.json().details.reason, 'address_not_allowed');
    // Always enforced, audit mode or not; and a client cannot claim another address without a trusted proxy.
    assert.equal(reason(await check(k.apiKey, { method: 'GET', uri: '/x', ip: '192.168.1.1', headers: { 'X-Forwarded-For': '10.1.2.3', 'X-Real-IP': '10.1.2.3' } })), 'address_not_allowed');
    // Behind a trusted proxy (KEYWARD_TRUST_PROXY=true), the address the proxy appended is the client's.
    const proxied = await buildApp({ services: h().services, trustProxy: true });
    try {
      const via = (forwardedFor: string) =>
        proxied.inject({ method: 'GET', url: '/v1/auth/check', headers: { ApiKey: k.apiKey, 'X-Forwarded-For': forwardedFor, 'X-Original-Method': 'GET', 'X-Original-URI': '/x' }, remoteAddress: '127.0.0.1' });
      assert.equal(reason(await via('10.1.2.3')), 'ok');
      assert.equal(reason(await via('192.168.1.1')), 'address_not_allowed');
      assert.equal(reason(await via('10.1.2.3, 192.168.1.1')), 'address_not_allowed', "the client's own claim (leftmost) is not believed");
    } finally {
      await proxied.close();
    }
    await setRules({ mode: 'enforce', default: 'allow', rules: [] });
  });

  it('with rules or default deny, a missing or unreadable original request is refused (invalid_path, invalid_method)', async () => {
    await setRules({ mode: 'enforce', default: 'allow', rules: [{ methods: ['GET'], path: '/admin/**', require: 'admin:all' }] });
    const k = await key(['orders:read']);
    assert.equal(reason(await check(k.apiKey, { method: 'GET' })), 'invalid_path');
    assert.equal(reason(await check(k.apiKey, { method: 'GET', uri: '' })), 'invalid_path');
    assert.equal(reason(await check(k.apiKey, { method: 'GET', uri: 'admin' })), 'invalid_path');
    assert.equal(reason(await check(k.apiKey, { uri: '/orders' })), 'invalid_method');
    assert.equal(reason(await check(k.apiKey, { method: 'G T', uri: '/orders' })), 'invalid_method');
    assert.equal(reason(await check(k.apiKey, { method: 'GET', uri: '/orders' })), 'ok');
    await setRules({ mode: 'enforce', default: 'deny', rules: [] });
    assert.equal(reason(await check(k.apiKey, {})), 'invalid_path');
    await setRules({ mode: 'enforce', default: 'allow', rules: [] });
  });

  it('hostile spellings of a protected path never get past its rule', async () => {
    await setRules({
      mode: 'enforce',
      default: 'allow',
      rules: [
        { methods: ['*'], path: '/admin/**', require: 'admin:all' },
        { methods: ['*'], path: '/orders/**', require: 'orders:read' },
      ],
    });
    const reader = await key(['orders:read']);
    const admin = await key(['admin:all', 'orders:read']);
    const hostile = [
      '/admin',
      '/ADMIN',
      '/Admin/Users',
      '/admin/',
      '//admin',
      '///admin//users',
      '/./admin',
      '/orders/../admin',
      '/orders/./../admin/x',
      '/orders/%2e%2e/admin',
      '/orders/%2E%2E/admin',
      '/orders/.%2e/admin',
      '/%2e%2e/admin',
      '/orders%2F..%2Fadmin',
      '/orders%2f%2e%2e%2fadmin',
      '/orders/..%2Fadmin',
      '/%61dmin',
      '/%41DMIN/users',
      '/%2561dmin',
      '/orders/%252e%252e/admin',
      '\\admin',
      '/orders\\..\\admin',
      '/orders/..\\admin',
      '/%5cadmin',
      '/orders/%5c..%5cadmin',
      '/orders/%c0%ae%c0%ae/admin',
      '/orders/%c0%af../admin',
      '/%e0%80%ae%e0%80%ae/admin',
      '/admin;x=1',
      '/orders/..;/admin',
      '/admin%00',
      '/admin%0a',
      '/admin\t',
      '/admin?x=/orders',
      '/admin#/orders',
      'http://evil.example/admin',
      '/orders/../../admin',
    ];
    for (const uri of hostile) {
      const res = await check(reader.apiKey, { method: 'GET', uri });
      assert.notEqual(res.statusCode, 200, `${JSON.stringify(uri)} reached past the /admin rule`);
      assert.ok(['insufficient_scope', 'invalid_path'].includes(reason(res)), `${JSON.stringify(uri)}: ${res.statusCode} ${res.body}`);
    }
    // The admin's key gets through every spelling that resolves cleanly to /admin...
    for (const uri of ['/admin', '/ADMIN', '//admin', '/orders/../admin', '/%61dmin', '/./admin/', '/admin?x=1']) {
      assert.equal(reason(await check(admin.apiKey, { method: 'GET', uri })), 'ok', uri);
    }
    // ...and nothing may pass off /orders as another path, or the reverse: a router serves
    // /admin/../orders/1 from a route under /admin (it takes ".." as a name), so the admin rule
    // applies to that reading too.
    assert.equal(reason(await check(reader.apiKey, { method: 'GET', uri: '/admin/../orders/1' })), 'insufficient_scope');
    assert.equal(reason(await check(admin.apiKey, { method: 'GET', uri: '/admin/../orders/1' })), 'ok');
    assert.equal(reason(await check(reader.apiKey, { method: 'GET', uri: '/orders/1' })), 'ok');
  });

  it('every reading of the path must pass: the raw-URI ".." bypass, empty segments, a trailing slash', async () => {
    await setRules({
      mode: 'enforce',
      default: 'allow',
      rules: [
        { methods: ['*'], path: '/public/**', require: 'public:read' },
        { methods: ['*'], path: '/admin/**', require: 'admin:write' },
        { methods: ['*'], path: '/orgs/*/admin', require: 'admin:write' },
        { methods: ['DELETE'], path: '/users/*', require: 'people:delete' },
      ],
    });
    const publicOnly = await key(['public:read']);
    const both = await key(['public:read', 'admin:write']);
    // nginx resolves /admin/x/../../public/y to /public/y but forwards it raw, and Fastify serves
    // it from a route /admin/*: the literal reading meets the admin rule.
    const bypass = await check(publicOnly.apiKey, { method: 'GET', uri: '/admin/x/../../public/y' });
    assert.equal(reason(bypass), 'insufficient_scope', bypass.body);
    assert.deepEqual(bypass.json().details.missing, ['admin:write']);
    assert.equal(bypass.json().details.rule, 1);
    assert.match(bypass.json().message, /"admin:write".*rule 1.*GET \/admin\/x\/\.\.\/\.\.\/public\/y/);
    assert.equal(reason(await check(both.apiKey, { method: 'GET', uri: '/admin/x/../../public/y' })), 'ok');
    assert.equal(reason(await check(publicOnly.apiKey, { method: 'GET', uri: '/admin/x/%2e%2e/%2E%2E/public/y' })), 'insufficient_scope', 'encoded dots are dots');
    assert.equal(reason(await check(publicOnly.apiKey, { method: 'GET', uri: '/public/y' })), 'ok');
    // Reading A is reported first: /orders/../admin is /admin, refused by the admin rule by name.
    const resolved = await check(publicOnly.apiKey, { method: 'GET', uri: '/orders/../admin' });
    assert.equal(reason(resolved), 'insufficient_scope', resolved.body);
    assert.equal(resolved.json().details.rule, 1);
    assert.deepEqual(resolved.json().details.missing, ['admin:write']);
    assert.equal(resolved.json().details.missingScope, 'admin:write');
    assert.match(resolved.json().message, /"admin:write".*rule 1.*GET \/admin\b/);
    // Empty segments: Fastify routes /orgs//admin to /orgs/:org/admin with org "".
    for (const uri of ['/orgs//admin', '/orgs//admin/', '/orgs//../admin', '/orgs/x/admin']) {
      assert.equal(reason(await check(publicOnly.apiKey, { method: 'GET', uri })), 'insufficient_scope', uri);
      assert.equal(reason(await check(both.apiKey, { method: 'GET', uri })), 'ok', uri);
    }
    assert.equal(reason(await check(publicOnly.apiKey, { method: 'GET', uri: '/orgs/admin' })), 'ok', 'no rule for /orgs/admin itself');
    // A trailing slash: Fastify routes /users/ to /users/:id with id "".
    assert.equal(reason(await check(publicOnly.apiKey, { method: 'DELETE', uri: '/users/' })), 'insufficient_scope');
    assert.equal(reason(await check(publicOnly.apiKey, { method: 'DELETE', uri: '/users' })), 'ok');
    assert.equal(reason(await check(publicOnly.apiKey, { method: 'GET', uri: '/users/' })), 'ok', 'the rule is for DELETE');
    // Default deny holds for each reading: one that matches no rule is refused.
    await setRules({ mode: 'enforce', default: 'deny', rules: [{ methods: ['*'], path: '/public/**', require: '' }] });
    assert.equal(reason(await check(publicOnly.apiKey, { method: 'GET', uri: '/public/y' })), 'ok');
    assert.equal(reason(await check(publicOnly.apiKey, { method: 'GET', uri: '/public/../public/y' })), 'ok');
    const denied = await check(publicOnly.apiKey, { method: 'GET', uri: '/x/../public/y' });
    assert.equal(reason(denied), 'route_denied', denied.body);
    assert.match(denied.json().message, /GET \/x\/\.\.\/public\/y/);
    await setRules({ mode: 'enforce', default: 'allow', rules: [] });
  });

  it('every method the request could be run as must pass: X-HTTP-Method-Override and friends, _method', async () => {
    await setRules({
      mode: 'enforce',
      default: 'allow',
      rules: [
        { methods: ['DELETE'], path: '/users/*', require: 'people:delete' },
        { methods: ['POST', 'GET'], path: '/users/*', require: '' },
      ],
    });
    const plain = await key(['public:read']);
    const deleter = await key(['people:delete']);
    assert.equal(reason(await check(plain.apiKey, { method: 'POST', uri: '/users/7' })), 'ok');
    for (const header of ['X-HTTP-Method-Override', 'X-HTTP-Method', 'X-Method-Override']) {
      for (const value of ['DELETE', 'delete']) {
        const res = await check(plain.apiKey, { method: 'POST', uri: '/users/7', headers: { [header]: value } });
        assert.equal(reason(res), 'insufficient_scope', `${header}: ${value}: ${res.body}`);
        assert.deepEqual(res.json().details.missing, ['people:delete']);
        assert.match(res.json().message, /DELETE \/users\/7/);
        assert.equal(reason(await check(deleter.apiKey, { method: 'POST', uri: '/users/7', headers: { [header]: value } })), 'ok', header);
      }
    }
    for (const uri of ['/users/7?_method=DELETE', '/users/7?a=1&_method=delete', '/users/7?_method=GET&_method=DELETE', '/users/7?_method=%44ELETE', '/users/7?_%6Dethod=DELETE', '/users/7?%5Fmethod=DELETE', '/users/7?_METHOD=DELETE']) {
      assert.equal(reason(await check(plain.apiKey, { method: 'POST', uri })), 'insufficient_scope', uri);
      assert.equal(reason(await check(deleter.apiKey, { method: 'POST', uri })), 'ok', uri);
    }
    assert.equal(reason(await check(plain.apiKey, { method: 'POST', uri: '/users/7?x_method=DELETE' })), 'ok', 'another parameter');
    // An override that names no method is refused, not ignored: the server might read it some way.
    const unreadable: Record<string, string>[] = [{ 'X-HTTP-Method-Override': 'DEL ETE' }, { 'X-HTTP-Method-Override': '' }, { 'X-Method-Override': 'DELETE, GET' }];
    for (const headers of unreadable) {
      assert.equal(reason(await check(deleter.apiKey, { method: 'POST', uri: '/users/7', headers })), 'invalid_method', JSON.stringify(headers));
    }
    assert.equal(reason(await check(deleter.apiKey, { method: 'POST', uri: '/users/7?_method=' })), 'invalid_method');
    // With no rules and default allow, nothing about the request is read.
    await setRules({ mode: 'enforce', default: 'allow', rules: [] });
    assert.equal(reason(await check(plain.apiKey, { method: 'POST', uri: '/users/7', headers: { 'X-HTTP-Method-Override': 'DEL ETE' } })), 'ok');
  });

  it('rules too costly to match against a path refuse it (403 invalid_path), they do not hold the request up', async () => {
    // 2,000 rules, each `**` then 11 segments of `a` or `*` (every combination) then literals to
    // 32 segments: a path of `a`s keeps thousands of trie states alive at once.
    const rules = Array.from({ length: 2000 }, (_, i) => ({
      methods: ['GET'],
      path: `/**/${Array.from({ length: 11 }, (_, b) => ((i >> b) & 1 ? '*' : 'a')).join('/')}/${Array(19).fill('a').join('/')}/end`,
      require: '',
    }));
    await setRules({ mode: 'enforce', default: 'allow', rules });
    const k = await key(['*']);
    const res = await check(k.apiKey, { method: 'GET', uri: `/${Array(40).fill('a').join('/')}` });
    assert.equal(reason(res), 'invalid_path', res.body);
    assert.equal(res.json().details.tooComplex, true);
    assert.match(res.json().message, /too many wildcard/);
    // Paths that keep few states alive are still matched.
    assert.equal(reason(await check(k.apiKey, { method: 'GET', uri: '/b/c' })), 'ok');
    // Audit mode lets it through, as any refusal by the rules.
    await setRules({ mode: 'audit', default: 'allow', rules });
    assert.equal(reason(await check(k.apiKey, { method: 'GET', uri: `/${Array(40).fill('a').join('/')}` })), 'ok');
    await setRules({ mode: 'enforce', default: 'allow', rules: [] });
  });

  it('property: any URI that some server could read as under /admin is refused for a key without admin:all', async () => {
    await setRules({ mode: 'enforce', default: 'allow', rules: [{ methods: ['*'], path: '/admin/**', require: 'admin:all' }] });
    const reader = await key(['orders:read']);
    // Mostly plain pieces, with hostile ones mixed in: a generator of nothing but hostile pieces
    // only ever meets the normaliser's refusals, never the rule.
    const pick = <T>(...weighted: [number, T][]) => fc.oneof(...weighted.map(([weight, v]) => ({ weight, arbitrary: fc.constant(v) })));
    const dot = pick([6, '.'], [1, '%2e'], [1, '%2E']);
    const dotdot = fc.tuple(dot, dot).map(([a, b]) => a + b);
    const slash = pick([8, '/'], [2, '//'], [2, '/./'], [1, '%2f'], [1, '%2F'], [1, '\\'], [1, '%5c']);
    const admin = pick([6, 'admin'], [2, 'ADMIN'], [2, 'Admin'], [2, '%61dmin'], [2, 'adm%69n'], [1, '%2561dmin'], [1, 'admin;x'], [1, 'admin%3b'], [1, 'admin%00']);
    const filler = pick([6, 'orders'], [3, 'x'], [2, 'a.b'], [1, '%c0%ae'], [1, '%c0%ae%c0%ae'], [1, '%252e%252e'], [1, '']);
    const uri = fc
      .tuple(fc.array(fc.tuple(fc.oneof({ weight: 3, arbitrary: filler }, { weight: 2, arbitrary: dotdot }, { weight: 1, arbitrary: dot }), slash), { maxLength: 4 }), admin, fc.option(fc.tuple(slash, filler)), pick([4, ''], [1, '?q=1'], [1, '#f'], [1, '/']))
      .map(([prefix, a, tail, end]) => `/${prefix.map(([seg, sl]) => `${seg}${sl}`).join('')}${a}${tail ? tail.join('') : ''}${end}`);
    /** What a lenient server might serve: decode (once or twice), treat `\` as `/`, drop `;params`, resolve dots. */
    const readings = (u: string): string[] => {
      const path = u.replace(/[?#].*$/s, '');
      const decode = (s: string) => {
        try {
          return decodeURIComponent(s);
        } catch {
          return s;
        }
      };
      const variants = [path, decode(path), decode(decode(path))].map((p) => p.replaceAll('\\', '/').replace(/;[^/]*/g, ''));
      return variants.map((p) => {
        const out: string[] = [];
        for (const seg of p.split('/')) {
          if (seg === '' || seg === '.') continue;
          if (seg === '..') out.pop();
          else out.push(seg);
        }
        return `/${out.join('/')}`.toLowerCase();
      });
    };
    const seen = { refused: 0, ruled: 0, passed: 0 };
    await fc.assert(
      fc.asyncProperty(uri, async (u) => {
        const res = await check(reader.apiKey, { method: 'GET', uri: u });
        const r = reason(res);
        if (r === 'ok') seen.passed++;
        else if (r === 'insufficient_scope') seen.ruled++;
        else if (r === 'invalid_path') seen.refused++;
        else assert.fail(`${u}: ${res.statusCode} ${res.body}`);
        if (readings(u).some((p) => p === '/admin' || p.startsWith('/admin/'))) assert.notEqual(r, 'ok', `${u} passed the /admin rule`);
      }),
      { numRuns: 400 },
    );
    // The property met the rule itself, not only the normaliser's refusals, and let others through.
    assert.ok(seen.ruled > 20 && seen.refused > 20 && seen.passed > 5, JSON.stringify(seen));
  });

  it('audit mode lets refusals through, logs them, and audits them once per key, rule and window, counted', async () => {
    await setRules({
      mode: 'audit',
      default: 'deny',
      rules: [{ methods: ['GET'], path: '/orders/**', require: 'orders:write' }],
    });
    const k = await key(['orders:read']);
    for (let i = 0; i < 5; i++) {
      const res = await check(k.apiKey, { method: 'GET', uri: `/orders/${i}` });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['x-keyward-key'], k.uid);
    }
    for (let i = 0; i < 3; i++) assert.equal((await check(k.apiKey, { method: 'GET', uri: '/elsewhere' })).statusCode, 200);
    await h().services.observedRefusals.flush();
    const observed = (await audits(k.uid)).filter((a) => a.spec.action === 'authRoute.refusalObserved');
    assert.equal(observed.length, 2, JSON.stringify(observed));
    const byRule = observed.find((a) => a.spec.details.rule === 0);
    assert.equal(byRule.spec.details.reason, 'insufficient_scope');
    assert.deepEqual(byRule.spec.details.missing, ['orders:write']);
    assert.equal(byRule.spec.details.count, 5);
    assert.equal(byRule.spec.actor.apiKeyUid, k.uid);
    const byDefault = observed.find((a) => a.spec.details.rule === null);
    assert.equal(byDefault.spec.details.reason, 'route_denied');
    assert.equal(byDefault.spec.details.count, 3);
    // A new window, a new entry.
    await h().later(async (advance) => {
      advance(OBSERVED_REFUSAL_WINDOW_MS);
      assert.equal((await check(k.apiKey, { method: 'GET', uri: '/orders/9' })).statusCode, 200);
      await h().services.observedRefusals.flush();
    });
    assert.equal((await audits(k.uid)).filter((a) => a.spec.action === 'authRoute.refusalObserved').length, 3);
    // The proxy's own ?require= is enforced in audit mode too: it is not a rule on trial.
    assert.equal(reason(await check(k.apiKey, { method: 'GET', uri: '/orders/1', require: 'orders:refund' })), 'insufficient_scope');
    await setRules({ mode: 'enforce', default: 'allow', rules: [] });
  });

  it('compiled rules are cached: no database read per request, and a PUT is in force at once', async () => {
    await setRules({ mode: 'enforce', default: 'deny', rules: [{ methods: ['GET'], path: '/cached', require: '' }] });
    const k = await key(['orders:read']);
    assert.equal(reason(await check(k.apiKey, { method: 'GET', uri: '/cached' })), 'ok');
    // Changed behind Keyward's back: the cached rules still answer, so requests do not read them.
    await h().store.authRoutes.save(h().tenantUid, { mode: 'enforce', default: 'deny', rules: [] }, h().clock.now, null);
    for (let i = 0; i < 3; i++) assert.equal(reason(await check(k.apiKey, { method: 'GET', uri: '/cached' })), 'ok');
    // Through the API, the change is announced and holds for the very next request.
    await setRules({ mode: 'enforce', default: 'deny', rules: [] });
    assert.equal(reason(await check(k.apiKey, { method: 'GET', uri: '/cached' })), 'route_denied');
    await setRules({ mode: 'enforce', default: 'allow', rules: [] });
    assert.equal(reason(await check(k.apiKey, { method: 'GET', uri: '/cached' })), 'ok');
  });
});

eachDatabase(
  'forward-auth refusals of a good key are not guesses',
  (h) => {
    it('route rules, ?require= and allowed addresses refuse a real key as often as asked, and never count it against the address', async () => {
      for (const name of ['orders:read', 'admin:all']) {
        await h().inject('PUT', `/v1/scopes/${name}`, { headers: h().admin.auth, body: { description: name } });
      }
      const res = await h().inject('POST', '/v1/apiKeys', {
        headers: h().admin.auth,
        body: { metadata: { name: 'not-a-guesser' }, spec: { expiry: h().expiryIn(30), scopes: ['orders:read'], allowedCidrs: ['10.0.0.0/8'] } },
      });
      assert.equal(res.statusCode, 201, res.body);
      const { apiKey } = res.json();
      const put = await h().inject('PUT', '/v1/authRoutes', {
        headers: h().admin.auth,
        body: { mode: 'enforce', default: 'deny', rules: [{ methods: ['GET'], path: '/admin/**', require: 'admin:all' }, { methods: ['GET'], path: '/orders/**' }] },
      });
      assert.equal(put.statusCode, 200, put.body);
      const check = (uri: string, opts: { require?: string; ip?: string } = {}) =>
        h().app.inject({
          method: 'GET',
          url: `/v1/auth/check${opts.require ? `?require=${encodeURIComponent(opts.require)}` : ''}`,
          headers: { ApiKey: apiKey, 'X-Original-Method': 'GET', 'X-Original-URI': uri },
          remoteAddress: opts.ip ?? '10.0.0.1',
        });
      for (let i = 0; i < 5; i++) {
        assert.equal((await check('/elsewhere')).headers['x-keyward-reason'], 'route_denied');
        assert.equal((await check('/admin/x')).headers['x-keyward-reason'], 'insufficient_scope');
        assert.equal((await check('/orders/1', { require: 'admin:all' })).headers['x-keyward-reason'], 'insufficient_scope');
        assert.equal((await check('/orders/..%2Fadmin')).headers['x-keyward-reason'], 'invalid_path');
        assert.equal((await check('/orders/1', { ip: '192.0.2.1' })).headers['x-keyward-reason'], 'address_not_allowed');
      }
      assert.equal((await check('/orders/1')).statusCode, 200);
      // Had any of those 25 refusals counted, the address would be past its budget of 3 a minute,
      // and a bad key would be held at once. Three are still answered as themselves; the fourth is held.
      for (let i = 0; i < 3; i++) {
        const guess = await h().app.inject({ method: 'GET', url: '/v1/auth/check', headers: { ApiKey: `kw_guess${i}` }, remoteAddress: '10.0.0.1' });
        assert.equal(guess.statusCode, 401);
        assert.notEqual(guess.json().details.reason, 'TooManyRequests', `guess ${i} was held: the refusals above were counted`);
      }
      const blocked = await h().app.inject({ method: 'GET', url: '/v1/auth/check', headers: { ApiKey: 'kw_guess' }, remoteAddress: '10.0.0.1' });
      assert.equal(blocked.json().details.reason, 'TooManyRequests');
    });
  },
  { authFailuresPerMinute: 3 },
);
