import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parsePublicUrl } from './publicUrl.js';

it('KEYWARD_PUBLIC_URL: an http(s) origin, kept as its origin; unset is undefined', () => {
  assert.equal(parsePublicUrl(undefined), undefined);
  assert.equal(parsePublicUrl(''), undefined);
  assert.equal(parsePublicUrl('https://keys.example.com'), 'https://keys.example.com');
  assert.equal(parsePublicUrl('https://Keys.Example.com/'), 'https://keys.example.com');
  assert.equal(parsePublicUrl('https://keys.example.com:443'), 'https://keys.example.com');
  assert.equal(parsePublicUrl('http://10.0.0.5:8080'), 'http://10.0.0.5:8080');
});

it('KEYWARD_PUBLIC_URL: anything else is refused with a one-line reason', () => {
  for (const bad of ['keys.example.com', 'ftp://keys.example.com', 'https://keys.example.com/console', 'https://user:pw@keys.example.com', 'https://keys.example.com/?x=1', 'https://keys.example.com/#a', 'https://']) {
    assert.throws(
      () => parsePublicUrl(bad),
      (err: Error) => err.message.startsWith('KEYWARD_PUBLIC_URL must be') && !err.message.includes('\n'),
      bad,
    );
  }
});
