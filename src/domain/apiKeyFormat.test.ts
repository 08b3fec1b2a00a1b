import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashApiKey, isWellFormedApiKey, KEY_LENGTH, newApiKey } from './apiKeyFormat.js';
import { encodeBase62 } from './base62.js';

describe('API key format', () => {
  it('has the kw_ prefix, base62 body and a valid checksum', () => {
    const { key, hash, start } = newApiKey('secret');
    assert.match(key, /^kw_[0-9A-Za-z]{38}$/);
    assert.equal(key.length, KEY_LENGTH);
    assert.ok(isWellFormedApiKey(key));
    assert.equal(hash, hashApiKey('secret', key));
    assert.match(hash, /^[0-9a-f]{64}$/);
    assert.ok(key.startsWith(start) && start.length === 7);
  });

  it('carries at least 160 bits of randomness: 32 base62 characters, all of the alphabet used', () => {
    // The random part is the 32 characters after the prefix (the last 6 are the checksum).
    assert.equal(KEY_LENGTH - 'kw_'.length - 6, 32);
    assert.ok((KEY_LENGTH - 9) * Math.log2(62) >= 160);
    const seen = new Set<string>();
    const keys = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const { key } = newApiKey('s');
      keys.add(key);
      for (const c of key.slice(3, 35)) seen.add(c);
    }
    assert.equal(keys.size, 2000);
    assert.equal(seen.size, 62);
  });

  it('rejects any single-character typo, truncation or extension by its checksum', () => {
    const { key } = newApiKey('secret');
    const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    for (let i = 3; i < key.length; i++) {
      for (const c of alphabet) {
        if (c === key[i]) continue;
        const typo = key.slice(0, i) + c + key.slice(i + 1);
        assert.equal(isWellFormedApiKey(typo), false, typo);
      }
    }
    assert.equal(isWellFormedApiKey(key.slice(0, -1)), false);
    assert.equal(isWellFormedApiKey(`${key}0`), false);
    assert.equal(isWellFormedApiKey(`xx_${key.slice(3)}`), false);
    assert.equal(isWellFormedApiKey(''), false);
  });

  it('uses a deterministic random source when handed one, and the hash depends on the secret', () => {
    const zeros = (n: number) => new Uint8Array(n);
    const a = newApiKey('s1', zeros);
    const b = newApiKey('s2', zeros);
    assert.equal(a.key, b.key);
    assert.notEqual(a.hash, b.hash);
    assert.equal(a.key.slice(3, 35), '0'.repeat(32));
  });

  it('encodes base62 with padding', () => {
    assert.equal(encodeBase62(0, 6), '000000');
    assert.equal(encodeBase62(61, 2), '0z');
    assert.equal(encodeBase62(62, 2), '10');
    assert.equal(encodeBase62(0xffffffff, 6).length, 6);
  });
});
