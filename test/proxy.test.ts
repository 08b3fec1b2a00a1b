/**
 * Behind a proxy: the client address counted by the failure limiter and written to the audit
 * log comes from X-Forwarded-For only through trusted hops and is always a valid IP address;
 * KEYWARD_PUBLIC_URL makes the cookies Secure and names the one origin the CSRF check accepts.
 */
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { after, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/http/app.js';
import { parseTrustProxy } from '../src/http/clientAddress.js';
import { eachDatabase, type Harness } from './helpers/harness.js';
import { run } from './helpers/server.js';

const LIMIT = 5;
const PROXY = '10.0.0.2';

eachDatabase(
  'behind a proxy',
  (h) => {
    const apps: FastifyInstance[] = [];
    after(async () => {
      for (const app of apps) await app.close();
    });
    /** Another app on the same services, configured as KEYWARD_TRUST_PROXY / KEYWARD_PUBLIC_URL would configure it. */
    const appWith = async (opts: { trustProxy?: string; publicUrl?: string }) => {
      const app = await buildApp({ services: h().services, trustProxy: parseTrustProxy(opts.trustProxy), publicUrl: opts.publicUrl });
      apps.push(app);
      return app;
    };
    const info = (app: FastifyInstance, forwardedFor: string, apiKey: string, from = PROXY) =>
      app.inject({ method: 'GET', url: '/v1/users/info', remoteAddress: from, headers: { apikey: apiKey, 'x-forwarded-for': forwardedFor } });

    /** The address the audit log records for a key created through `app` with this header. */
    const auditedAddress = async (hh: Harness, app: FastifyInstance, forwardedFor: string | undefined, from = PROXY) => {
      const name = `proxy-${Math.random().toString(36).slice(2)}`;
      const created = await app.inject({
        method: 'POST',
        url: '/v1/apiKeys',
        remoteAddress: from,
        headers: { ...hh.admin.auth, ...(forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }) },
        payload: { metadata: { name }, spec: { expiry: hh.expiryIn(1) } },
      });
      assert.equal(created.statusCode, 201, created.body);
      const audits = await hh.inject('GET', `/v1/audits?resourceUid=${created.json().uid}`, { headers: hh.admin.auth });
      const entry = audits.json().items.find((a: any) => a.spec.action === 'apiKey.create');
      return entry.spec.address as string;
    };

    it('KEYWARD_TRUST_PROXY=true: changing the leftmost X-Forwarded-For value does not change the address whose failures are counted', async () => {
      const app = await appWith({ trustProxy: 'true' });
      for (let i = 0; i < LIMIT; i++) {
        const res = await info(app, `198.18.${i}.${i + 1}, 203.0.113.7`, `kw_guess_${i}`);
        assert.equal(res.statusCode, 401);
      }
      const blocked = await info(app, '198.18.99.99, 203.0.113.7', 'kw_guess_again');
      assert.equal(blocked.statusCode, 429, 'the client behind the proxy is limited whatever it puts to the left');
      assert.equal((await info(app, '203.0.113.7, 203.0.113.8', 'kw_guess')).statusCode, 401, 'another client behind the same proxy is not');
      assert.equal(await auditedAddress(h(), app, '6.6.6.6, 203.0.113.44'), '203.0.113.44', 'the audit log records the address our proxy saw');
    });

    it('each form of the setting picks the right entry, and a garbage value is never stored', async () => {
      const off = await appWith({ trustProxy: 'false' });
      const twoHops = await appWith({ trustProxy: '2' });
      const ranges = await appWith({ trustProxy: '10.0.0.0/8, fd00::/8' });

      assert.equal(await auditedAddress(h(), off, '203.0.113.1'), PROXY, 'false: the socket peer');
      assert.equal(await auditedAddress(h(), twoHops, '6.6.6.6, 198.51.100.2, 10.0.0.9'), '198.51.100.2', 'two hops');
      assert.equal(await auditedAddress(h(), ranges, '6.6.6.6, 198.51.100.3, 10.7.0.1'), '198.51.100.3', 'proxy ranges');
      assert.equal(await auditedAddress(h(), ranges, '198.51.100.3', '203.0.113.50'), '203.0.113.50', 'a peer outside the ranges names no one but itself');

      for (const garbage of ['garbage', '<script>alert(1)</script>', '1.2.3.4:x', "'; drop table audits; --", 'unknown', '', '\u202e1.1.1.1', '1.1.1.15;for=6.6.6.6']) {
        assert.equal(await auditedAddress(h(), twoHops, garbage), PROXY, `two hops, ${JSON.stringify(garbage)}`);
        assert.equal(await auditedAddress(h(), twoHops, `${garbage}, 198.51.100.9`), '198.51.100.9', `two hops, ${JSON.stringify(garbage)} to the left`);
        assert.equal(await auditedAddress(h(), ranges, `6.6.6.6, ${garbage}, 10.3.3.3`), '10.3.3.3', `ranges, ${JSON.stringify(garbage)}`);
      }
      const all = (await h().inject('GET', '/v1/audits?limit=1000', { headers: h().admin.auth })).json().items;
      const fromRequests = all.filter((e: any) => e.spec.address !== 'cli');
      assert.ok(fromRequests.length > 20);
      for (const entry of fromRequests) assert.ok(isIP(entry.spec.address) !== 0, `stored address ${JSON.stringify(entry.spec.address)}`);
    });

    it('entries with ports or brackets name their address, and the audit log has one spelling per address', async () => {
      const app = await appWith({ trustProxy: 'true' });
      for (const [entry, expected] of [
        ['1.1.1.8:5555', '1.1.1.8'],
        ['[2001:db8::6]', '2001:db8::6'],
        ['[2001:DB8::7]:443', '2001:db8::7'],
        ['::ffff:1.1.1.9', '1.1.1.9'],
        ['2001:0db8:0000::17', '2001:db8::17'],
        [`fe80::1%${'A'.repeat(300)}`, 'fe80::1'],
      ]) {
        assert.equal(await auditedAddress(h(), app, `6.6.6.6, ${entry}`), expected, entry);
      }
      assert.equal(await auditedAddress(h(), app, '1.1.1.20', '::ffff:10.0.0.2'), '1.1.1.20');
      assert.equal(await auditedAddress(h(), app, 'unknown', '::ffff:10.0.0.2'), '10.0.0.2', 'the proxy itself, in its IPv4 spelling');
    });

    it('clients behind the proxy: one IPv6 client per /64, whatever address of it or spelling the proxy reports', async () => {
      const app = await appWith({ trustProxy: 'true' });
      for (let i = 1; i <= LIMIT; i++) assert.equal((await info(app, `2001:db8:5:6::${i.toString(16)}`, `kw_v6_${i}`)).statusCode, 401);
      assert.equal((await info(app, '[2001:db8:5:6::60]:443', 'kw_v6_more')).statusCode, 429);
      assert.equal((await info(app, '2001:DB8:5:6:FFFF::1', 'kw_v6_more')).statusCode, 429);
      assert.equal((await info(app, '2001:db8:5:7::1', 'kw_v6_more')).statusCode, 401);
      for (let i = 0; i < LIMIT; i++) assert.equal((await info(app, i % 2 ? '1.1.1.30:1234' : '::ffff:1.1.1.30', `kw_v4_${i}`)).statusCode, 401);
      assert.equal((await info(app, '1.1.1.30', 'kw_v4_more')).statusCode, 429);
    });

    const signInWithCookie = async (app: FastifyInstance, headers: Record<string, string> = {}, from = '127.0.0.1') => {
      const res = await app.inject({ method: 'POST', url: '/v1/auth/authenticate', remoteAddress: from, headers, payload: { emailId: h().admin.email, password: h().admin.password } });
      assert.equal(res.statusCode, 200);
      const cookies = Object.fromEntries(res.cookies.map((c) => [c.name, c]));
      return { session: cookies.keyward_session, csrf: cookies.keyward_csrf };
    };
    const cookieWrite = (app: FastifyInstance, c: { session: { value: string }; csrf: { value: string } }, origin: string) =>
      app.inject({
        method: 'POST',
        url: '/v1/apiKeys',
        headers: { cookie: `keyward_session=${c.session.value}; keyward_csrf=${c.csrf.value}`, 'x-csrf-token': c.csrf.value, origin },
        payload: { metadata: { name: `origin-${Math.random().toString(36).slice(2)}` }, spec: { expiry: h().expiryIn(1) } },
      });

    it('KEYWARD_PUBLIC_URL=https://…: Secure cookies, and the CSRF check accepts exactly that origin', async () => {
      const app = await appWith({ publicUrl: 'https://keys.example.com' });
      const c = await signInWithCookie(app);
      assert.equal(c.session.secure, true, 'the session cookie is Secure although Keyward itself is reached over http');
      assert.equal(c.csrf.secure, true);
      assert.equal((await cookieWrite(app, c, 'https://keys.example.com')).statusCode, 201);
      for (const origin of ['http://localhost:80', 'http://keys.example.com', 'https://keys.example.com:8443', 'https://evil.example', 'null']) {
        const res = await cookieWrite(app, c, origin);
        assert.equal(res.statusCode, 403, origin);
        assert.equal(res.json().code, 'Forbidden');
      }
      const plain = await signInWithCookie(await appWith({ publicUrl: 'http://keys.internal' }));
      assert.equal(plain.session.secure, undefined, 'an http public URL sets no Secure flag');
    });

    it('without KEYWARD_PUBLIC_URL: the request decides, as before (X-Forwarded-Proto only from a trusted proxy)', async () => {
      const c = await signInWithCookie(h().app);
      assert.equal(c.session.secure, undefined);
      assert.equal((await cookieWrite(h().app, c, 'http://localhost:80')).statusCode, 201);
      assert.equal((await cookieWrite(h().app, c, 'https://keys.example.com')).statusCode, 403);

      const ranges = await appWith({ trustProxy: '10.0.0.0/8' });
      assert.equal((await signInWithCookie(ranges, { 'x-forwarded-proto': 'https' }, PROXY)).session.secure, true, 'from our proxy');
      assert.equal((await signInWithCookie(ranges, { 'x-forwarded-proto': 'https' }, '203.0.113.5')).session.secure, undefined, 'not from anyone else');
    });
  },
  { authFailuresPerMinute: LIMIT },
);

describe('proxy settings that cannot be used', () => {
  // Each form of a bad value is in the unit tests beside the parsers; here, that the server refuses them.
  for (const [name, value] of [
    ['KEYWARD_TRUST_PROXY', '10.0.0.0/40'],
    ['KEYWARD_TRUST_PROXY', '0.0.0.0/0'],
    ['KEYWARD_TRUST_PROXY', '10.0.0.0/8,::/0'],
    ['KEYWARD_PUBLIC_URL', 'keys.example.com'],
  ]) {
    it(`${name}=${value} refuses to start with a one-line reason`, async () => {
      const res = await run(['serve'], { env: { KEYWARD_DATABASE_URL: 'sqlite::memory:', KEYWARD_SECRET: 'proxy-settings-secret-0', [name]: value } });
      assert.equal(res.code, 1);
      assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr);
      assert.match(res.stderr, new RegExp(`${name} must be`));
    });
  }
});
