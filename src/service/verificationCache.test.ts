import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KeyWithPrincipal } from '../domain/verification.js';
import { VerificationCache } from './verificationCache.js';

const principal = { userUid: 'u', tenantUid: 't', email: 'u@x', isAdmin: false };
const record = (uid: string, expiry = 10_000): KeyWithPrincipal => ({ key: { uid, expiry, isActive: true, scopes: ['*'] }, principal });

describe('verification cache', () => {
  it('is bounded, evicting the least recently used', () => {
    const clock = { now: 0 };
    const cache = new VerificationCache({ maxEntries: 2, ttlMs: 60_000, now: () => clock.now });
    cache.set('h1', record('k1'), cache.epoch());
    cache.set('h2', record('k2'), cache.epoch());
    assert.ok(cache.get('h1'));
    cache.set('h3', record('k3'), cache.epoch());
    assert.equal(cache.size, 2);
    assert.ok(cache.get('h1'), 'recently used survives');
    assert.equal(cache.get('h2'), undefined, 'least recently used is gone');
  });

  it('keeps a key in use however many others come and go, and outlives half the cache of newer ones after its last use', () => {
    const cache = new VerificationCache({ maxEntries: 10, ttlMs: 60_000, now: () => 0 });
    cache.set('hot', record('hot'), cache.epoch());
    for (let i = 0; i < 1000; i++) {
      cache.set(`h${i}`, record(`k${i}`), cache.epoch());
      if (i % 4 === 0) assert.ok(cache.get('hot'), `the key in use is still there after ${i} others`);
      assert.ok(cache.size <= 10);
    }
    assert.ok(cache.get('hot'));
    for (let i = 0; i < 5; i++) cache.set(`late${i}`, record(`late${i}`), cache.epoch());
    assert.ok(cache.get('hot'), 'after its last use, it outlives at least half the cache of newer entries');
    for (let i = 0; i < 10; i++) cache.set(`later${i}`, record(`later${i}`), cache.epoch());
    assert.equal(cache.get('hot'), undefined, 'unused, it goes in time');
  });

  it('forgets entries after the TTL', () => {
    const clock = { now: 0 };
    const cache = new VerificationCache({ maxEntries: 10, ttlMs: 1000, now: () => clock.now });
    cache.set('h1', record('k1'), cache.epoch());
    clock.now = 999;
    assert.ok(cache.get('h1'));
    clock.now = 1000;
    assert.equal(cache.get('h1'), undefined);
  });

  it('invalidates by key uid, and drops fills that raced with an invalidation', () => {
    const cache = new VerificationCache({ maxEntries: 10, ttlMs: 60_000, now: () => 0 });
    cache.set('h1', record('k1'), cache.epoch());
    cache.invalidate(['k1']);
    assert.equal(cache.get('h1'), undefined);

    const epoch = cache.epoch(); // a lookup starts...
    cache.invalidate(['k2']); // ...a key changes meanwhile...
    cache.set('h2', record('k2'), epoch); // ...and the stale answer must not be cached.
    assert.equal(cache.get('h2'), undefined);

    cache.set('h3', record('k3'), cache.epoch());
    cache.clear();
    assert.equal(cache.size, 0);
  });

  it('with maxEntries 0 caches nothing', () => {
    const cache = new VerificationCache({ maxEntries: 0, ttlMs: 60_000, now: () => 0 });
    cache.set('h1', record('k1'), cache.epoch());
    assert.equal(cache.size, 0);
  });
});
