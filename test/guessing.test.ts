/** Guessing API keys and tokens: limited per client address, with Retry-After. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { eachDatabase } from './helpers/harness.js';

eachDatabase(
  'credential guessing',
  (h) => {
    const info = (headers: Record<string, string>, ip: string) => h().app.inject({ method: 'GET', url: '/v1/users/info', headers, remoteAddress: ip });

    it('an address presenting bad keys and tokens is slowed to 429 with Retry-After; other addresses are not', async () => {
      const { apiKey } = await h().createKey(h().admin);
      const guesses: Record<string, string>[] = [{ ApiKey: 'kw_guess' }, { ApiKey: apiKey.slice(0, -1) + (apiKey.endsWith('0') ? '1' : '0') }, { Authorization: 'Bearer forged' }, { ApiKey: 'x' }, {}];
      for (const g of guesses) assert.equal((await info(g, '10.9.0.1')).statusCode, 401);
      const blocked = await info({ ApiKey: 'kw_another_guess' }, '10.9.0.1');
      assert.equal(blocked.statusCode, 429);
      assert.equal(blocked.json().code, 'TooManyRequests');
      assert.ok(Number(blocked.headers['retry-after']) > 0);
      // Blocked is blocked, whatever the credential: guessing right does not get through.
      assert.equal((await info({ ApiKey: apiKey }, '10.9.0.1')).statusCode, 429);
      assert.equal((await info({ ApiKey: apiKey }, '10.9.0.2')).statusCode, 200, 'another address is unaffected');
      h().clock.now += 61_000;
      try {
        assert.equal((await info({ ApiKey: apiKey }, '10.9.0.1')).statusCode, 200, 'after the window the address may try again');
      } finally {
        h().clock.now -= 61_000;
      }
    });

    it('successful requests do not count against an address', async () => {
      const { apiKey } = await h().createKey(h().admin);
      for (let i = 0; i < 20; i++) assert.equal((await info({ ApiKey: apiKey }, '10.9.1.1')).statusCode, 200);
    });
  },
  { authFailuresPerMinute: 5 },
);
