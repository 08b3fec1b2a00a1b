/**
 * Address allowlists on keys (CONTRACT §6.1): IPv4 and IPv6 networks, IPv4-mapped client addresses
 * matching IPv4 networks, the client address from X-Forwarded-For only through a trusted proxy,
 * checked before anything else the key could do, refusals that change nothing and are not counted
 * as guesses, and a key that can never hand out more addresses than it may be used from.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/http/app.js';
import { type Caller, eachDatabase, type Harness } from './helpers/harness.js';
import { assertV1ErrorBody } from './helpers/palette.js';

let seq = 0;

async function keyFor(h: Harness, owner: Caller, allowedCidrs: string[] | undefined, scopes?: string[]) {
  const spec: Record<string, unknown> = { expiry: h.expiryIn(30) };
  if (allowedCidrs !== undefined) spec.allowedCidrs = allowedCidrs;
  if (scopes !== undefined) spec.scopes = scopes;
  const res = await h.inject('POST', '/v1/apiKeys', { headers: owner.auth, body: { metadata: { name: `c-${++seq}` }, spec } });
  assert.equal(res.statusCode, 201, res.body);
  return res.json() as { apiKey: string; uid: string };
}

/** A request with `apiKey` from the client at `from` (the socket's address). */
const from = (app: FastifyInstance, remoteAddress: string, apiKey: string, opts: { method?: string; url?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
  app.inject({
    method: (opts.method ?? 'GET') as 'GET',
    url: opts.url ?? '/v1/users/info',
    remoteAddress,
    headers: { ApiKey: apiKey, ...opts.headers },
    ...(opts.body === undefined ? {} : { payload: opts.body as object }),
  });

const cidrsOf = async (h: Harness, uid: string) => (await h.inject('GET', `/v1/apiKeys/${uid}`, { headers: h.admin.auth })).json().spec.allowedCidrs;

eachDatabase('allowed addresses on keys', (h) => {
  it('IPv4: a key answers inside its networks and 403 address_not_allowed outside, naming the address; a bare address is one host', async () => {
    const user = await h().createUser();
    const key = await keyFor(h(), user, ['203.0.113.0/24', '198.51.100.7']);
    assert.deepEqual(await cidrsOf(h(), key.uid), ['203.0.113.0/24', '198.51.100.7/32']);
    assert.equal((await from(h().app, '203.0.113.9', key.apiKey)).statusCode, 200);
    assert.equal((await from(h().app, '198.51.100.7', key.apiKey)).statusCode, 200);
    for (const address of ['198.51.100.8', '203.0.114.1', '127.0.0.1', '2001:db8::1']) {
      const res = await from(h().app, address, key.apiKey);
      assert.equal(res.statusCode, 403, address);
      const body = assertV1ErrorBody(res.body);
      assert.equal(body.code, 'Forbidden');
      assert.deepEqual(body.details, { reason: 'address_not_allowed' });
      assert.ok(body.message.includes(address), body.message);
    }
  });

  it('IPv6: networks in any spelling, stored in RFC 5952 form; IPv4 clients do not match them', async () => {
    const user = await h().createUser();
    const key = await keyFor(h(), user, ['2001:DB8:0:0::/32', '2001:db8:ffff:0:0:0:0:1']);
    assert.deepEqual(await cidrsOf(h(), key.uid), ['2001:db8::/32', '2001:db8:ffff::1/128']);
    assert.equal((await from(h().app, '2001:db8:1::5', key.apiKey)).statusCode, 200);
    assert.equal((await from(h().app, '2001:0db8:0000::0001', key.apiKey)).statusCode, 200);
    assert.equal((await from(h().app, '2001:db9::1', key.apiKey)).statusCode, 403);
    assert.equal((await from(h().app, '10.0.0.1', key.apiKey)).statusCode, 403);
  });

  it('an IPv4-mapped socket address (a dual-stack listener) matches IPv4 networks, over a real socket', async () => {
    const user = await h().createUser();
    const inside = await keyFor(h(), user, ['127.0.0.0/8']);
    const outside = await keyFor(h(), user, ['10.0.0.0/8']);
    const app = await buildApp({ services: h().services });
    await app.listen({ host: '::', port: 0 });
    try {
      const { port } = app.server.address() as { port: number };
      const seen = await (await fetch(`http://127.0.0.1:${port}/v1/users/info`, { headers: { ApiKey: inside.apiKey } })).status;
      assert.equal(seen, 200, 'the client is ::ffff:127.0.0.1 on the socket');
      assert.equal((await fetch(`http://127.0.0.1:${port}/v1/users/info`, { headers: { ApiKey: outside.apiKey } })).status, 403);
    } finally {
      await app.close();
    }
    assert.equal((await from(h().app, '::ffff:127.0.0.1', inside.apiKey)).statusCode, 200);
    assert.equal((await from(h().app, '::ffff:10.9.9.9', inside.apiKey)).statusCode, 403);
  });

  it('X-Forwarded-For is believed only with KEYWARD_TRUST_PROXY: a client cannot claim an allowed address', async () => {
    const user = await h().createUser();
    const key = await keyFor(h(), user, ['203.0.113.0/24']);
    // No proxy trusted: the header is the client's own claim.
    assert.equal((await from(h().app, '192.0.2.1', key.apiKey, { headers: { 'X-Forwarded-For': '203.0.113.5' } })).statusCode, 403);
    const behindProxy = await buildApp({ services: h().services, trustProxy: true });
    try {
      assert.equal((await from(behindProxy, '10.0.0.2', key.apiKey, { headers: { 'X-Forwarded-For': '203.0.113.5' } })).statusCode, 200);
      // Only the hop the proxy wrote counts; what the client put before it does not.
      assert.equal((await from(behindProxy, '10.0.0.2', key.apiKey, { headers: { 'X-Forwarded-For': '203.0.113.5, 192.0.2.1' } })).statusCode, 403);
      assert.equal((await from(behindProxy, '10.0.0.2', key.apiKey)).statusCode, 403, 'without the header, the proxy itself is the client');
    } finally {
      await behindProxy.close();
    }
  });

  it('checked before anything else: from outside, a key may not even read, and a write changes nothing', async () => {
    const user = await h().createUser();
    const key = await keyFor(h(), user, ['203.0.113.0/24'], ['apiKeys:read']);
    // The address refusal wins over the missing scope.
    const res = await from(h().app, '192.0.2.1', key.apiKey, { method: 'PATCH', url: `/v1/apiKeys/${key.uid}`, body: { isActive: false } });
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().details.reason, 'address_not_allowed');
    const target = await keyFor(h(), user, ['203.0.113.0/24']);
    for (const [method, url, body] of [
      ['PATCH', `/v1/apiKeys/${target.uid}`, { isActive: false }],
      ['DELETE', `/v1/apiKeys/${target.uid}`, undefined],
      ['PUT', `/v1/apiKeys/${target.uid}`, { spec: { allowedCidrs: [] } }],
    ] as const) {
      assert.equal((await from(h().app, '192.0.2.1', target.apiKey, { method, url, body })).statusCode, 403, `${method} ${url}`);
    }
    await h().services.lastUsed.flush();
    const after = (await h().inject('GET', `/v1/apiKeys/${target.uid}`, { headers: user.auth })).json();
    assert.equal(after.status.isActive, true);
    assert.deepEqual(after.spec.allowedCidrs, ['203.0.113.0/24']);
    assert.equal(after.status.lastUsedTimestamp, undefined, 'a refused request is not a use of the key');
  });

  it('a change of allowed addresses holds at once, even for a key just used (cached), and is audited', async () => {
    const user = await h().createUser();
    const key = await keyFor(h(), user, undefined);
    assert.equal((await from(h().app, '192.0.2.1', key.apiKey)).statusCode, 200);
    const put = await h().inject('PUT', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { spec: { allowedCidrs: ['203.0.113.0/24'] } } });
    assert.equal(put.statusCode, 204, put.body);
    assert.equal((await from(h().app, '192.0.2.1', key.apiKey)).statusCode, 403);
    assert.equal((await from(h().app, '203.0.113.1', key.apiKey)).statusCode, 200);
    assert.equal((await h().inject('PUT', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { spec: { allowedCidrs: [] } } })).statusCode, 204);
    assert.equal((await from(h().app, '192.0.2.1', key.apiKey)).statusCode, 200, 'empty: any address again');
    const audit = (await h().inject('GET', `/v1/audits?resourceUid=${key.uid}`, { headers: h().admin.auth })).json().items;
    const changes = audit.filter((e: any) => e.spec.action === 'apiKey.update').map((e: any) => e.spec.details.allowedCidrs);
    assert.deepEqual(changes, [
      { from: ['203.0.113.0/24'], to: [] },
      { from: [], to: ['203.0.113.0/24'] },
    ]);
  });

  it('bad networks of every shape are refused with 400 saying what is wrong (host bits: which network was meant), and change nothing', async () => {
    const user = await h().createUser();
    const key = await keyFor(h(), user, ['192.0.2.0/24']);
    const cases: [unknown, RegExp][] = [
      [['garbage'], /"garbage" is not a network/],
      [['10.0.0.0/33'], /prefix length/],
      [['10.0.0.0/-1'], /prefix length/],
      [['10.1.2.3/8'], /did you mean 10\.0\.0\.0\/8/],
      [['2001:db8::1/32'], /did you mean 2001:db8::\/32/],
      [['::1/129'], /prefix length/],
      [['fe80::1%eth0'], /zone id/],
      [['1.2.3'], /is not a network/],
      [[''], /spec[./]allowedCidrs/],
      [['x'.repeat(65)], /spec[./]allowedCidrs/],
      [[12], /spec[./]allowedCidrs/],
      [[null], /spec[./]allowedCidrs/],
      ['10.0.0.0/8', /spec[./]allowedCidrs/],
      [Array.from({ length: 101 }, (_, i) => `10.0.${i}.0/24`), /spec[./]allowedCidrs/],
    ];
    for (const [allowedCidrs, message] of cases) {
      for (const res of [
        await h().inject('POST', '/v1/apiKeys', { headers: user.auth, body: { metadata: { name: `bad-${++seq}` }, spec: { expiry: h().expiryIn(3), allowedCidrs } } }),
        await h().inject('PUT', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { spec: { allowedCidrs } } }),
      ]) {
        assert.equal(res.statusCode, 400, `${JSON.stringify(allowedCidrs)}: ${res.body}`);
        assert.match(assertV1ErrorBody(res.body).message, message, JSON.stringify(allowedCidrs));
      }
    }
    const hostBits = await h().inject('PUT', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { spec: { allowedCidrs: ['10.1.2.3/8'] } } });
    assert.equal(hostBits.json().details.suggestion, '10.0.0.0/8');
    assert.deepEqual(await cidrsOf(h(), key.uid), ['192.0.2.0/24']);
    const names = (await h().inject('GET', '/v1/apiKeys', { headers: user.auth })).json().items.map((k: any) => k.metadata.name);
    assert.ok(!names.some((n: string) => n.startsWith('bad-')), 'no key was made');
  });

  it('a key with an allowlist hands out only addresses inside it: none (any address) and outside networks are 403', async () => {
    const user = await h().createUser();
    const limited = await keyFor(h(), user, ['10.0.0.0/8', '2001:db8::/32'], ['apiKeys:write', 'apiKeys:read']);
    const create = (allowedCidrs: string[] | undefined) =>
      from(h().app, '10.1.1.1', limited.apiKey, {
        method: 'POST',
        url: '/v1/apiKeys',
        body: { metadata: { name: `h-${++seq}` }, spec: { expiry: h().expiryIn(3), scopes: ['apiKeys:read'], ...(allowedCidrs ? { allowedCidrs } : {}) } },
      });
    for (const cidrs of [undefined, [], ['0.0.0.0/0'], ['192.168.0.0/16'], ['10.0.0.0/7'], ['10.2.0.0/16', '11.0.0.0/8'], ['2001:db9::/32'], ['::/0']]) {
      const res = await create(cidrs);
      assert.equal(res.statusCode, 403, `${JSON.stringify(cidrs)}: ${res.body}`);
      assert.equal(res.json().code, 'Forbidden');
    }
    for (const cidrs of [['10.0.0.0/8'], ['10.2.0.0/16', '10.3.4.5'], ['2001:db8:1::/48']]) {
      const res = await create(cidrs);
      assert.equal(res.statusCode, 201, `${JSON.stringify(cidrs)}: ${res.body}`);
    }
    // Nor may it lift or widen another key's allowlist through PUT; narrowing is fine.
    const other = await keyFor(h(), user, ['10.5.0.0/16'], ['apiKeys:read']);
    const put = (allowedCidrs: string[]) => from(h().app, '10.1.1.1', limited.apiKey, { method: 'PUT', url: `/v1/apiKeys/${other.uid}`, body: { spec: { allowedCidrs } } });
    assert.equal((await put([])).statusCode, 403);
    assert.equal((await put(['172.16.0.0/12'])).statusCode, 403);
    assert.deepEqual(await cidrsOf(h(), other.uid), ['10.5.0.0/16']);
    assert.equal((await put(['10.5.1.0/24'])).statusCode, 204);
    assert.deepEqual(await cidrsOf(h(), other.uid), ['10.5.1.0/24']);
    // A key without an allowlist may hand out any addresses, and none.
    const free = await keyFor(h(), user, undefined, ['apiKeys:write', 'apiKeys:read']);
    const res = await from(h().app, '192.0.2.1', free.apiKey, { method: 'PUT', url: `/v1/apiKeys/${other.uid}`, body: { spec: { allowedCidrs: [] } } });
    assert.equal(res.statusCode, 204, res.body);
  });

  it('a refusal for the address is not a guess: it does not count against the address (3 failures a minute here)', async () => {
    const user = await h().createUser();
    const key = await keyFor(h(), user, ['203.0.113.0/24']);
    for (let i = 0; i < 6; i++) assert.equal((await from(h().app, '192.0.2.77', key.apiKey)).statusCode, 403);
    assert.equal((await from(h().app, '192.0.2.77', 'kw_not-a-real-key')).statusCode, 401, 'not blocked (429)');
  });
}, { authFailuresPerMinute: 3 });
