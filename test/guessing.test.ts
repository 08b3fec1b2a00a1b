/**
 * Guessing API keys and tokens: limited per client address, with Retry-After, across instances;
 * a valid credential from a blocked address still gets in.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { newApiKey, withChecksum } from '../src/domain/apiKeyFormat.js';
import { buildApp } from '../src/http/app.js';
import { createServices } from '../src/service/services.js';
import { Store } from '../src/store/store.js';
import { eachDatabase, type Harness, SECRET } from './helpers/harness.js';

const LIMIT = 5;

/** Another instance on the harness's database, sharing its clock, as a second server process would. */
async function secondInstance(h: Harness) {
  const store = await Store.open(h.db.url);
  const services = createServices(store, { secret: SECRET, now: () => h.clock.now, authFailuresPerMinute: LIMIT });
  const app = await buildApp({ services });
  return {
    app,
    async close() {
      await app.close();
      await services.stop();
      await store.close();
    },
  };
}

eachDatabase(
  'credential guessing',
  (h) => {
    const info = (headers: Record<string, string>, ip: string, app = h().app) => app.inject({ method: 'GET', url: '/v1/users/info', headers, remoteAddress: ip });

    it('an address presenting bad keys and tokens is slowed to 429 with Retry-After; other addresses are not', async () => {
      const { apiKey } = await h().createKey(h().admin);
      const guesses: Record<string, string>[] = [{ ApiKey: 'kw_guess' }, { ApiKey: apiKey.slice(0, -1) + (apiKey.endsWith('0') ? '1' : '0') }, { Authorization: 'Bearer forged' }, { ApiKey: 'x' }, {}];
      for (const g of guesses) assert.equal((await info(g, '10.9.0.1')).statusCode, 401);
      const blocked = await info({ ApiKey: 'kw_another_guess' }, '10.9.0.1');
      assert.equal(blocked.statusCode, 429);
      assert.equal(blocked.json().code, 'TooManyRequests');
      assert.ok(Number(blocked.headers['retry-after']) > 0);
      assert.equal((await info({ ApiKey: newApiKey('another-secret').key }, '10.9.0.1')).statusCode, 429, 'a well-formed key that does not exist is refused too');
      assert.equal((await info({ Authorization: `Bearer ${h().admin.token}x` }, '10.9.0.1')).statusCode, 429, 'and a forged token');
      assert.equal((await info({ ApiKey: apiKey }, '10.9.0.2')).statusCode, 200, 'another address is unaffected');
      h().clock.now += 61_000;
      try {
        assert.equal((await info({ ApiKey: 'kw_after' }, '10.9.0.1')).statusCode, 401, 'after the window the address may try again');
      } finally {
        h().clock.now -= 61_000;
      }
    });

    it('a blocked address still gets in with a valid key or token: others behind the same address are not locked out', async () => {
      const user = await h().createUser();
      const { apiKey } = await h().createKey(user);
      const fresh = await h().createKey(h().admin);
      const ip = '10.9.5.1';
      for (let i = 0; i < LIMIT; i++) assert.equal((await info({ ApiKey: `kw_nat${i}` }, ip)).statusCode, 401);
      assert.equal((await info({ ApiKey: 'kw_nat_more' }, ip)).statusCode, 429, 'the address is blocked');
      assert.equal((await info({ ApiKey: apiKey }, ip)).statusCode, 200, 'a valid key');
      assert.equal((await info({ ApiKey: fresh.apiKey }, ip)).statusCode, 200, 'a valid key this instance has never seen');
      assert.equal((await info({ Authorization: user.token }, ip)).statusCode, 200, 'a valid token');
      assert.equal((await info({ Authorization: `Bearer ${h().admin.token}` }, ip)).statusCode, 200, 'another valid token');
      const check = await h().app.inject({ method: 'GET', url: '/v1/auth/check', headers: { ApiKey: apiKey }, remoteAddress: ip });
      assert.equal(check.statusCode, 200, 'the forward-auth check lets a valid key through as well');
      assert.equal((await info({ ApiKey: 'kw_nat_again' }, ip)).statusCode, 429, 'and failures are still refused');
    });

    it('a flood of garbage from a blocked address costs no database write, and a bad checksum no lookup', async () => {
      const { apiKey } = await h().createKey(h().admin);
      const ip = '10.9.6.1';
      // Start at the top of a window, so the window cannot turn over during the test.
      const saved = h().clock.now;
      h().clock.now = saved - (saved % 60_000) + 60_000;
      const repo = h().store.apiKeys;
      const findByHash = repo.findByHash;
      let lookups = 0;
      repo.findByHash = (hash: string) => {
        lookups++;
        return findByHash.call(repo, hash);
      };
      try {
        for (let i = 0; i < LIMIT; i++) assert.equal((await info({ ApiKey: `kw_flood${i}` }, ip)).statusCode, 401);
        assert.equal(await h().useKey(apiKey), 200, 'the key is cached');
        lookups = 0;
        const badChecksum = apiKey.slice(0, -1) + (apiKey.endsWith('0') ? '1' : '0');
        for (let i = 0; i < 50; i++) {
          assert.equal((await info({ ApiKey: badChecksum }, ip)).statusCode, 429);
          assert.equal((await info({ ApiKey: `kw_garbage${i}` }, ip)).statusCode, 429);
          assert.equal((await info({ Authorization: `forged.${i}` }, ip)).statusCode, 429);
        }
        assert.equal((await info({ ApiKey: apiKey }, ip)).statusCode, 200);
        assert.equal(lookups, 0, 'bad checksums, garbage and forged tokens are refused without a lookup, and a cached key costs none');
        // A well-formed key that is not cached costs one indexed read, as from any address.
        assert.equal((await info({ ApiKey: newApiKey('another-secret').key }, ip)).statusCode, 429);
        assert.equal(lookups, 1);
        const rows = await h().store.connection.db.selectFrom('credential_failures').selectAll().where('address', '=', ip).execute();
        assert.deepEqual(rows.map((r) => Number(r.failures)), [LIMIT], 'refusals of a blocked address are not written');
      } finally {
        repo.findByHash = findByHash;
        h().clock.now = saved;
      }
    });

    it('an IPv6 client is one client per /64: its addresses share one budget and one row; another /64 has its own', async () => {
      const { apiKey } = await h().createKey(h().admin);
      const saved = h().clock.now;
      h().clock.now = saved - (saved % 60_000) + 60_000;
      try {
        // The reviewer's case: every guess from a new address of one /64.
        for (let i = 1; i <= LIMIT; i++) assert.equal((await info({ ApiKey: `kw_v6_${i}` }, `2001:db8:1:2::${i.toString(16)}`)).statusCode, 401);
        for (const ip of ['2001:db8:1:2::99', '2001:DB8:1:2:ffff:ffff:ffff:ffff', '2001:db8:1:2:0:0:0:abcd']) {
          assert.equal((await info({ ApiKey: 'kw_v6_more' }, ip)).statusCode, 429, ip);
        }
        assert.equal((await info({ ApiKey: apiKey }, '2001:db8:1:2::77')).statusCode, 200, 'a valid key from the /64 still gets in');
        assert.equal((await info({ ApiKey: 'kw_v6_other' }, '2001:db8:1:3::1')).statusCode, 401, 'the next /64 is another client');
        const rows = await h().store.connection.db.selectFrom('credential_failures').select(['address', 'failures']).where('address', 'like', '2001:db8:1:%').execute();
        assert.deepEqual(
          rows.map((r) => [r.address, Number(r.failures)]).sort(),
          [
            ['2001:db8:1:2::/64', LIMIT],
            ['2001:db8:1:3::/64', 1],
          ],
          'one row per /64 and window, not one per address',
        );
      } finally {
        h().clock.now = saved;
      }
    });

    it('an IPv4 client is one client however its address is spelled (IPv4-mapped IPv6 from a dual-stack socket)', async () => {
      for (let i = 0; i < LIMIT; i++) assert.equal((await info({ ApiKey: `kw_mapped${i}` }, i % 2 ? '10.9.8.1' : '::ffff:10.9.8.1')).statusCode, 401);
      assert.equal((await info({ ApiKey: 'kw_mapped_more' }, '10.9.8.1')).statusCode, 429);
      assert.equal((await info({ ApiKey: 'kw_mapped_more' }, '::ffff:a09:801')).statusCode, 429);
    });

    it('a near miss of a real key, a key that never existed and a typo read alike', async () => {
      const { apiKey } = await h().createKey(h().admin);
      const body = apiKey.slice(0, -6);
      const swap = (c: string) => (c === 'a' ? 'b' : 'a');
      const nearMiss = withChecksum(body.slice(0, 10) + swap(body[10]!) + body.slice(11));
      const candidates = [nearMiss, newApiKey('another-secret').key, apiKey.slice(0, -1) + swap(apiKey.at(-1)!)];
      const answers = [];
      for (const [i, key] of candidates.entries()) {
        const res = await info({ ApiKey: key }, `10.9.4.${i}`);
        const { code, message, details } = res.json();
        answers.push({ status: res.statusCode, code, message, details, headers: Object.keys(res.headers).sort() });
      }
      assert.equal(answers[0]!.status, 401);
      assert.deepEqual(answers[1], answers[0]);
      assert.deepEqual(answers[2], answers[0]);
      const verify = async (key: string) => (await h().inject('POST', '/v1/apiKeys/verify', { headers: h().admin.auth, body: { key } })).json();
      assert.deepEqual(await verify(candidates[1]!), await verify(nearMiss));
      assert.equal((await verify(nearMiss)).code, 'NOT_FOUND');
    });

    it('successful requests do not count against an address', async () => {
      const { apiKey } = await h().createKey(h().admin);
      for (let i = 0; i < 20; i++) assert.equal((await info({ ApiKey: apiKey }, '10.9.1.1')).statusCode, 200);
    });

    it('the forward-auth check counts bad keys too, and refuses a guessing address with 401 and Retry-After', async () => {
      const { apiKey } = await h().createKey(h().admin);
      const check = (key: string, ip: string) => h().app.inject({ method: 'GET', url: '/v1/auth/check', headers: { ApiKey: key }, remoteAddress: ip });
      for (let i = 0; i < LIMIT; i++) assert.equal((await check(`kw_check${i}`, '10.9.3.1')).statusCode, 401);
      const refused = await check('kw_check_more', '10.9.3.1');
      assert.equal(refused.statusCode, 401, 'a proxy’s auth_request understands only 2xx, 401 and 403');
      assert.equal(refused.json().details.reason, 'TooManyRequests');
      assert.ok(Number(refused.headers['retry-after']) > 0);
      assert.equal((await check(apiKey, '10.9.3.1')).statusCode, 200, 'a valid key from the guessing address still passes');
      assert.equal((await check(apiKey, '10.9.3.2')).statusCode, 200);
    });

    it('the budget is shared by every instance on the database, and outlives a restart', async () => {
      const { apiKey } = await h().createKey(h().admin);
      const ip = '10.9.2.1';
      // Start at the top of a window, so the window cannot turn over during the test.
      const saved = h().clock.now;
      h().clock.now = saved - (saved % 60_000) + 60_000;
      const other = await secondInstance(h());
      try {
        for (let i = 0; i < 3; i++) assert.equal((await info({ ApiKey: `kw_a${i}` }, ip)).statusCode, 401);
        for (let i = 0; i < 2; i++) assert.equal((await info({ ApiKey: `kw_b${i}` }, ip, other.app)).statusCode, 401);
        assert.equal((await info({ ApiKey: 'kw_probe' }, ip, other.app)).statusCode, 429, 'the second instance counted the first one’s failures');
        assert.equal((await info({ ApiKey: apiKey }, ip, other.app)).statusCode, 200, 'a valid key still passes');
        // The first instance has seen 3 of its own; its next failure reads the shared count.
        assert.equal((await info({ ApiKey: 'kw_a3' }, ip)).statusCode, 401);
        assert.equal((await info({ ApiKey: 'kw_probe' }, ip)).statusCode, 429, 'the first instance counted the second one’s failures');
        await other.close();
        const restarted = await secondInstance(h());
        try {
          assert.equal((await info({ ApiKey: 'kw_c0' }, ip, restarted.app)).statusCode, 401, 'an instance new to the address allows one try');
          const blocked = await info({ ApiKey: 'kw_probe' }, ip, restarted.app);
          assert.equal(blocked.statusCode, 429, 'a restarted instance remembers the count');
          assert.ok(Number(blocked.headers['retry-after']) <= 60);
        } finally {
          await restarted.close();
        }
        const rows = await h().store.connection.db.selectFrom('credential_failures').selectAll().where('address', '=', ip).execute();
        assert.deepEqual(rows.map((r) => Number(r.failures)), [LIMIT + 2], 'one row per address and window, counting every failure before the block');
      } finally {
        h().clock.now = saved;
      }
    });
  },
  { authFailuresPerMinute: LIMIT },
);
