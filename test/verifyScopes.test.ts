/**
 * POST /v1/apiKeys/verify with scopes and addresses (CONTRACT §6.1): `{key, require?, clientAddress?}`;
 * the answer adds the key's `scopes` whenever it was found, and refuses with ADDRESS_NOT_ALLOWED
 * or INSUFFICIENT_SCOPE (with `missing`), checked in that order after found/active/expiry. The
 * caller's own key needs keys:verify.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { type Caller, eachDatabase, type Harness } from './helpers/harness.js';
import { assertV1ErrorBody } from './helpers/palette.js';

let seq = 0;

async function keyFor(h: Harness, owner: Caller, spec: Record<string, unknown>) {
  const res = await h.inject('POST', '/v1/apiKeys', { headers: owner.auth, body: { metadata: { name: `v-${++seq}` }, spec: { expiry: h.expiryIn(30), ...spec } } });
  assert.equal(res.statusCode, 201, res.body);
  return res.json() as { apiKey: string; uid: string };
}

const verifyAs = (h: Harness, headers: Record<string, string>, body: unknown) => h.inject('POST', '/v1/apiKeys/verify', { headers, body });
const verify = async (h: Harness, body: unknown) => {
  const res = await verifyAs(h, h.admin.auth, body);
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
};

eachDatabase('verify: scopes and addresses', (h) => {
  it('a valid key: the answer adds its scopes; a key made without scopes shows ["*"]', async () => {
    const user = await h().createUser();
    const plain = await h().createKey(user);
    assert.deepEqual((await verify(h(), { key: plain.apiKey })).scopes, ['*']);
    const scoped = await keyFor(h(), user, { scopes: ['apiKeys:read', 'users:read'] });
    const answer = await verify(h(), { key: scoped.apiKey });
    assert.equal(answer.code, 'VALID');
    assert.equal(answer.valid, true);
    assert.deepEqual(answer.scopes, ['apiKeys:read', 'users:read']);
    assert.equal(answer.missing, undefined);
  });

  it('require: met, or INSUFFICIENT_SCOPE with what is missing (AND: all failing parts; OR: the closest alternative)', async () => {
    await h().inject('PUT', '/v1/scopes/orders:read', { headers: h().admin.auth, body: {} });
    await h().inject('PUT', '/v1/scopes/orders:write', { headers: h().admin.auth, body: {} });
    const user = await h().createUser();
    const key = await keyFor(h(), user, { scopes: ['orders:read', 'apiKeys:read'] });
    const cases: [string, string[] | undefined][] = [
      ['orders:read', undefined],
      ['orders:read AND apiKeys:read', undefined],
      ['orders:write OR orders:read', undefined],
      ['orders:*', ['orders:*']],
      ['orders:write', ['orders:write']],
      ['orders:read and orders:write and billing:pay', ['orders:write', 'billing:pay']],
      ['(orders:write AND billing:pay) OR users:read', ['users:read']],
      ['(orders:write AND billing:pay) OR (users:read AND users:write)', ['orders:write', 'billing:pay']],
      ['orders:read AND (users:read OR (orders:write AND audits:read))', ['users:read']],
      ['*', ['*']],
    ];
    for (const [require, missing] of cases) {
      const answer = await verify(h(), { key: key.apiKey, require });
      if (missing === undefined) {
        assert.deepEqual([answer.valid, answer.code, answer.missing], [true, 'VALID', undefined], require);
      } else {
        assert.deepEqual([answer.valid, answer.code, answer.missing], [false, 'INSUFFICIENT_SCOPE', missing], require);
        assert.equal(answer.keyUid, key.uid, 'whose key it is is still said');
        assert.deepEqual(answer.scopes, ['orders:read', 'apiKeys:read']);
      }
    }
    const full = await h().createKey(user);
    assert.equal((await verify(h(), { key: full.apiKey, require: 'orders:write AND billing:pay' })).code, 'VALID');
    const wild = await keyFor(h(), user, { scopes: ['orders:*'] });
    assert.equal((await verify(h(), { key: wild.apiKey, require: 'orders:write AND orders:read' })).code, 'VALID');
    assert.deepEqual((await verify(h(), { key: wild.apiKey, require: 'orders:write AND users:read' })).missing, ['users:read']);
  });

  it('clientAddress: inside the allowlist VALID; outside, or absent, ADDRESS_NOT_ALLOWED; mapped IPv4 matches; a key without one accepts any', async () => {
    const user = await h().createUser();
    const key = await keyFor(h(), user, { allowedCidrs: ['203.0.113.0/24', '2001:db8::/32'] });
    const code = async (clientAddress?: string) => (await verify(h(), { key: key.apiKey, ...(clientAddress === undefined ? {} : { clientAddress }) })).code;
    assert.equal(await code('203.0.113.50'), 'VALID');
    assert.equal(await code('::ffff:203.0.113.50'), 'VALID');
    assert.equal(await code('2001:db8:5::1'), 'VALID');
    assert.equal(await code('198.51.100.1'), 'ADDRESS_NOT_ALLOWED');
    assert.equal(await code('2001:db9::1'), 'ADDRESS_NOT_ALLOWED');
    // Nobody vouched for where it came from: fail closed, whatever the caller's own address.
    const absent = await verify(h(), { key: key.apiKey });
    assert.deepEqual([absent.valid, absent.code, absent.keyUid], [false, 'ADDRESS_NOT_ALLOWED', key.uid]);
    assert.equal(absent.missing, undefined);
    const free = await h().createKey(user);
    assert.equal((await verify(h(), { key: free.apiKey })).code, 'VALID');
    assert.equal((await verify(h(), { key: free.apiKey, clientAddress: '198.51.100.1' })).code, 'VALID');
  });

  it('the order of checks: found, active and expiry first, then the address, then the scopes', async () => {
    const user = await h().createUser();
    const key = await keyFor(h(), user, { scopes: ['apiKeys:read'], allowedCidrs: ['203.0.113.0/24'] });
    assert.equal((await verify(h(), { key: key.apiKey, clientAddress: '198.51.100.1', require: 'users:write' })).code, 'ADDRESS_NOT_ALLOWED');
    assert.equal((await verify(h(), { key: key.apiKey, clientAddress: '203.0.113.1', require: 'users:write' })).code, 'INSUFFICIENT_SCOPE');
    await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { isActive: false } });
    const inactive = await verify(h(), { key: key.apiKey, clientAddress: '198.51.100.1', require: 'users:write' });
    assert.deepEqual([inactive.code, inactive.scopes], ['INACTIVE', ['apiKeys:read']]);
    // Another tenant's key is as one that does not exist: nothing about it, not even its scopes.
    const other = await h().createTenant(`vt${++seq}`);
    const foreign = await keyFor(h(), other, { scopes: ['apiKeys:read'] });
    assert.deepEqual(await verify(h(), { key: foreign.apiKey, require: 'apiKeys:read' }), { valid: false, code: 'NOT_FOUND' });
  });

  it('bad require or clientAddress of every shape: 400 naming the problem', async () => {
    const user = await h().createUser();
    const key = await h().createKey(user);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ require: 'orders:read AND' }, /require|position|end/i],
      [{ require: '(orders:read' }, /require|position|\)/i],
      [{ require: 'orders:read OR OR users:read' }, /require|position/i],
      [{ require: 'orders' }, /resource:action|orders/],
      [{ require: '' }, /require|empty/i],
      [{ require: 'a:b '.repeat(600) }, /require/],
      [{ require: `${'('.repeat(40)}a:b${')'.repeat(40)}` }, /nest|deep|32/i],
      [{ require: 7 }, /require/],
      [{ require: null }, /require/],
      [{ clientAddress: 'nope' }, /clientAddress/],
      [{ clientAddress: '203.0.113.0/24' }, /clientAddress/],
      [{ clientAddress: '999.1.1.1' }, /clientAddress/],
      [{ clientAddress: '' }, /clientAddress/],
      [{ clientAddress: 4 }, /clientAddress/],
      [{ clientAddress: ['1.2.3.4'] }, /clientAddress/],
    ];
    for (const [extra, message] of cases) {
      const res = await verifyAs(h(), h().admin.auth, { key: key.apiKey, ...extra });
      assert.equal(res.statusCode, 400, `${JSON.stringify(extra).slice(0, 80)}: ${res.body}`);
      assert.match(assertV1ErrorBody(res.body).message, message, JSON.stringify(extra).slice(0, 80));
    }
  });

  it("the caller's own key needs keys:verify; its own allowlist is checked against the caller's address, not clientAddress", async () => {
    const admin = await h().createUser({ admin: true });
    const user = await h().createUser();
    const relayed = await h().createKey(user);
    const without = await keyFor(h(), admin, { scopes: ['apiKeys:read'] });
    const res = await verifyAs(h(), { ApiKey: without.apiKey }, { key: relayed.apiKey });
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().details.missingScope, 'keys:verify');
    const verifier = await keyFor(h(), admin, { scopes: ['keys:verify'], allowedCidrs: ['10.0.0.0/8'] });
    const call = (remoteAddress: string, body: unknown) =>
      h().app.inject({ method: 'POST', url: '/v1/apiKeys/verify', remoteAddress, headers: { ApiKey: verifier.apiKey }, payload: body as object });
    assert.equal((await call('10.1.2.3', { key: relayed.apiKey })).json().code, 'VALID');
    const outside = await call('192.0.2.9', { key: relayed.apiKey, clientAddress: '10.1.2.3' });
    assert.equal(outside.statusCode, 403);
    assert.equal(outside.json().details.reason, 'address_not_allowed');
  });

  it('a Palette client that sends only {key} gets the same fields as before, plus scopes', async () => {
    const user = await h().createUser();
    const key = await h().createKey(user, { days: 2 });
    const answer = await verify(h(), { key: key.apiKey });
    assert.deepEqual(Object.keys(answer).sort(), ['code', 'expiry', 'keyUid', 'scopes', 'tenantUid', 'userUid', 'valid']);
  });
});
