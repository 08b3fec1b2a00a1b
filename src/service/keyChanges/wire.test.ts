import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { KeyEvent, KeysChanged } from './bus.js';
import { decodeEvent, encodeEvent } from './wire.js';

const uid = () => randomBytes(12).toString('hex');
const LIMIT = 7999;

describe('key events on the wire', () => {
  it('round-trips every reason', () => {
    for (const reason of ['revoked', 'reactivated', 'deleted', 'expiryChanged', 'ownerDeleted', 'ownerChanged', 'scopesChanged', 'addressesChanged'] as const) {
      const event: KeyEvent = { type: 'keys.changed', keyUids: [uid(), uid()], reason };
      const payloads = encodeEvent(event, LIMIT);
      assert.equal(payloads.length, 1);
      assert.deepEqual(decodeEvent(payloads[0]), event);
    }
  });

  it('splits many keys into payloads under the limit, each a whole event, keys in order', () => {
    const keyUids = Array.from({ length: 5000 }, uid);
    const payloads = encodeEvent({ type: 'keys.changed', keyUids, reason: 'ownerDeleted' }, LIMIT);
    assert.ok(payloads.length > 1);
    for (const p of payloads) assert.ok(Buffer.byteLength(p) <= LIMIT, `${Buffer.byteLength(p)} bytes`);
    // Filled, not merely split: all but the last would overflow with one more key.
    for (const p of payloads.slice(0, -1)) assert.ok(Buffer.byteLength(p) + 25 > LIMIT);
    const decoded = payloads.map((p) => decodeEvent(p) as KeysChanged | undefined);
    for (const e of decoded) assert.equal(e?.reason, 'ownerDeleted');
    assert.deepEqual(decoded.flatMap((e) => e!.keyUids), keyUids);
  });

  it('counts bytes, not characters', () => {
    const keyUids = ['é'.repeat(100), 'ü'.repeat(100)];
    const payloads = encodeEvent({ type: 'keys.changed', keyUids, reason: 'revoked' }, 300);
    assert.equal(payloads.length, 2, 'two 200-byte keys do not fit in 300 bytes together');
    for (const p of payloads) assert.ok(Buffer.byteLength(p) <= 300);
    assert.throws(() => encodeEvent({ type: 'keys.changed', keyUids: ['x'.repeat(400)], reason: 'revoked' }, 300), /does not fit/);
  });

  it('refuses keys it could not send intact', () => {
    assert.throws(() => encodeEvent({ type: 'keys.changed', keyUids: ['a,b'], reason: 'revoked' }, LIMIT), /cannot be sent/);
  });

  it('is read by instances from before the typed bus, which split payloads on commas', () => {
    const keyUids = [uid(), uid()];
    const [payload] = encodeEvent({ type: 'keys.changed', keyUids, reason: 'revoked' }, LIMIT);
    const readByOldInstance = payload.split(',');
    for (const k of keyUids) assert.ok(readByOldInstance.includes(k));
  });

  it('round-trips a tenant\'s route-rules change in one short payload, which old instances read as no key of theirs', () => {
    const tenantUid = uid();
    const event: KeyEvent = { type: 'authRoutes.changed', tenantUid };
    const payloads = encodeEvent(event, LIMIT);
    assert.deepEqual(payloads, [`authRoutes.changed:${tenantUid}`]);
    assert.deepEqual(decodeEvent(payloads[0]), event);
    // An instance from before the typed bus evicts the keys named by comma-separated uids: none here.
    assert.deepEqual(payloads[0].split(','), [`authRoutes.changed:${tenantUid}`]);
    assert.throws(() => encodeEvent({ type: 'authRoutes.changed', tenantUid: 'a:b' }, LIMIT), /cannot be sent/);
    for (const bad of ['authRoutes.changed', 'authRoutes.changed:', `authRoutes.changed:${tenantUid}:x`, `authRoutes.changed:${tenantUid},x`]) {
      assert.equal(decodeEvent(bad), undefined, bad);
    }
  });

  it('reads what it does not know as nothing: old payloads, other types, bad reasons, garbage', () => {
    for (const payload of [`${uid()},${uid()}`, 'keys.scopes:x,abc', 'keys.changed:stolen,abc', 'keys.changed:revoked:extra,abc', 'keys.changed:revoked,,abc', '', 'constructor', '__proto__:x,y']) {
      assert.equal(decodeEvent(payload), undefined, payload);
    }
  });
});
