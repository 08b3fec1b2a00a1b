import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { badRequest } from './errors.js';
import { checkNewExpiry, parseTimestamp } from './expiry.js';
import type { Principal } from './model.js';
import { canSeeKey, canSeeUser, keyOwnerRequest, mayReactivate } from './policies.js';
import { evaluateKey } from './verification.js';

const admin: Principal = { userUid: 'a', tenantUid: 't1', email: 'a@x', isAdmin: true };
const user: Principal = { userUid: 'u', tenantUid: 't1', email: 'u@x', isAdmin: false };
const foreignAdmin: Principal = { userUid: 'f', tenantUid: 't2', email: 'f@x', isAdmin: true };

describe('policies', () => {
  it('who sees a key', () => {
    const key = { tenantUid: 't1', userUid: 'u' };
    assert.equal(canSeeKey(admin, key), true);
    assert.equal(canSeeKey(user, key), true);
    assert.equal(canSeeKey({ ...user, userUid: 'other' }, key), false);
    assert.equal(canSeeKey(foreignAdmin, key), false);
    assert.equal(canSeeUser(user, { tenantUid: 't1', uid: 'u' }), true);
    assert.equal(canSeeUser(user, { tenantUid: 't1', uid: 'a' }), false);
    assert.equal(canSeeUser(foreignAdmin, { tenantUid: 't1', uid: 'u' }), false);
  });

  it('who re-activates a key', () => {
    assert.equal(mayReactivate(user, { revokedByAdmin: false }), true);
    assert.equal(mayReactivate(user, { revokedByAdmin: true }), false);
    assert.equal(mayReactivate(admin, { revokedByAdmin: true }), true);
  });

  it('whom a new key is for', () => {
    assert.deepEqual(keyOwnerRequest(user, undefined), { self: true });
    assert.deepEqual(keyOwnerRequest(user, ''), { self: true });
    assert.deepEqual(keyOwnerRequest(user, 'u'), { self: true });
    assert.deepEqual(keyOwnerRequest(user, 't1'), { self: true });
    assert.deepEqual(keyOwnerRequest(admin, 'u'), { self: false, userUid: 'u' });
  });
});

describe('expiry', () => {
  const now = Date.parse('2030-01-01T00:00:00Z');
  it('takes RFC 3339 only', () => {
    assert.equal(parseTimestamp('2030-01-02T00:00:00Z', 'f'), Date.parse('2030-01-02T00:00:00Z'));
    assert.equal(parseTimestamp('2030-01-02T01:00:00.5+01:00', 'f'), Date.parse('2030-01-02T00:00:00.5Z'));
    for (const bad of ['2030-01-02', 'tomorrow', '1893456000', '2030-01-02T00:00:00']) {
      assert.throws(() => parseTimestamp(bad, 'f'), (e: any) => e.code === 'BadRequest');
    }
  });
  it('must be in the future and within the maximum lifetime', () => {
    const refused = (field: RegExp) => (e: any) => e.code === 'BadRequest' && e.status === 400 && field.test(e.message);
    assert.throws(() => checkNewExpiry('2029-12-31T23:59:59Z', now, 365), refused(/future/i));
    assert.throws(() => checkNewExpiry('2030-01-01T00:00:00Z', now, 365), refused(/future/i));
    assert.throws(() => checkNewExpiry('2031-01-01T00:00:01Z', now, 365), refused(/365/));
    assert.equal(checkNewExpiry('2031-01-01T00:00:00Z', now, 365), Date.parse('2031-01-01T00:00:00Z'));
    assert.equal(badRequest('x').status, 400);
  });
});

describe('verification outcome', () => {
  const principal = user;
  const now = 1000;
  it('is a value: NOT_FOUND, EXPIRED (even when revoked), INACTIVE or VALID', () => {
    assert.equal(evaluateKey(undefined, now).code, 'NOT_FOUND');
    assert.equal(evaluateKey({ key: { uid: 'k', expiry: 1000, isActive: true, scopes: ['*'] }, principal }, now).code, 'EXPIRED');
    assert.equal(evaluateKey({ key: { uid: 'k', expiry: 999, isActive: false, scopes: ['*'] }, principal }, now).code, 'EXPIRED');
    assert.equal(evaluateKey({ key: { uid: 'k', expiry: 2000, isActive: false, scopes: ['*'] }, principal }, now).code, 'INACTIVE');
    const ok = evaluateKey({ key: { uid: 'k', expiry: 2000, isActive: true, scopes: ['*'] }, principal }, now);
    assert.equal(ok.ok, true);
    assert.equal(ok.principal?.apiKeyUid, 'k');
  });
});
