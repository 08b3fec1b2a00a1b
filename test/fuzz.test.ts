/**
 * Property-based tests (fast-check) over the endpoints: random and mutated JSON bodies, wrong
 * types, odd content types, invalid UTF-8, path and query garbage, random credentials. Never a
 * 5xx; every error is Palette's v1Error; and a refused request leaves the database as it was.
 */
import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import fc from 'fast-check';
import { type Caller, eachDatabase } from './helpers/harness.js';
import { assertV1ErrorBody } from './helpers/palette.js';

const RUNS = Number(process.env.KEYWARD_FUZZ_RUNS ?? 120);

eachDatabase('fuzzing the API', (h) => {
  let user: Caller;
  let keyUid: string;
  let userUid: string;

  before(async () => {
    user = await h().createUser();
    keyUid = (await h().createKey(user, { name: 'fuzz-target' })).uid;
    userUid = (await h().createUser()).uid;
  });

  /** What a refused request must not change. */
  async function snapshot(): Promise<string> {
    const db = h().store.connection.db;
    const keys = await db
      .selectFrom('api_keys')
      .select(['uid', 'name', 'description', 'expiry', 'is_active', 'revoked_by_admin', 'updated_at', 'scopes', 'allowed_cidrs'])
      .orderBy('uid')
      .execute();
    const users = await db.selectFrom('users').select(['uid', 'email', 'roles', 'first_name', 'last_name', 'updated_at']).orderBy('uid').execute();
    const scopes = await db.selectFrom('tenant_scopes').select(['tenant_uid', 'name', 'description', 'updated_at']).orderBy('name').execute();
    return JSON.stringify({ keys, users, scopes });
  }

  async function check(method: string, url: string, opts: { headers?: Record<string, string>; payload?: string | Buffer }) {
    const before = await snapshot();
    const res = await h().app.inject({ method: method as any, url, headers: opts.headers, payload: opts.payload });
    assert.ok(res.statusCode < 500, `${method} ${url} answered ${res.statusCode}: ${res.body.slice(0, 300)}`);
    if (res.statusCode >= 400) {
      assertV1ErrorBody(res.body, `${method} ${url}`);
      assert.equal(await snapshot(), before, `${method} ${url} was refused (${res.statusCode}) but changed the database`);
    }
    return res;
  }

  const endpoints = () => [
    ['POST', '/v1/apiKeys'],
    ['PUT', `/v1/apiKeys/${keyUid}`],
    ['PATCH', `/v1/apiKeys/${keyUid}`],
    ['PUT', `/v1/apiKeys/${keyUid}/state`],
    ['POST', '/v1/users'],
    ['POST', '/v1/auth/authenticate'],
    ['POST', '/v1/apiKeys/verify'],
    ['PUT', '/v1/scopes/fuzz:scope'],
  ] as const;

  it('random JSON bodies on every write endpoint', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...endpoints()), fc.json({ depthSize: 'medium' }), async ([method, url], json) => {
        await check(method, url, { headers: { ...h().admin.auth, 'content-type': 'application/json' }, payload: json });
      }),
      { numRuns: RUNS },
    );
  });

  it('valid bodies with one field replaced by anything', async () => {
    const valid = () => ({ metadata: { name: 'fuzz-made', annotations: { description: 'd' } }, spec: { expiry: h().expiryIn(3), userUid: user.uid } });
    const paths: ((b: any, v: unknown) => void)[] = [
      (b, v) => (b.metadata = v),
      (b, v) => (b.metadata.name = v),
      (b, v) => (b.metadata.annotations = v),
      (b, v) => (b.metadata.annotations.description = v),
      (b, v) => (b.spec = v),
      (b, v) => (b.spec.expiry = v),
      (b, v) => (b.spec.userUid = v),
      (b, v) => (b.spec.scopes = v),
      (b, v) => (b.spec.scopes = [v]),
      (b, v) => (b.spec.allowedCidrs = v),
      (b, v) => (b.spec.allowedCidrs = [v]),
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), fc.jsonValue(), fc.constantFrom('POST', 'PUT'), async (mutate, value, method) => {
        const body = valid();
        mutate(body, value);
        const url = method === 'POST' ? '/v1/apiKeys' : `/v1/apiKeys/${keyUid}`;
        const res = await check(method, url, { headers: { ...user.auth, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
        // A body that happened to be valid made a key: remove it so names stay free.
        if (res.statusCode === 201) await h().inject('DELETE', `/v1/apiKeys/${res.json().uid}`, { headers: user.auth });
      }),
      { numRuns: RUNS },
    );
  });

  it("verify's require and clientAddress, and scope names in the URL, as anything: a 4xx or an answer, never a 5xx", async () => {
    const key = await h().createKey(user, { name: 'fuzz-verified' });
    const expression = fc.oneof(
      fc.jsonValue(),
      fc.string({ maxLength: 80 }),
      fc.array(fc.constantFrom('a:b', 'orders:*', '*', 'AND', 'or', '(', ')', ' ', 'x', ':', '%', '\u0000'), { maxLength: 30 }).map((parts) => parts.join(' ')),
    );
    await fc.assert(
      fc.asyncProperty(expression, fc.oneof(fc.jsonValue(), fc.string({ maxLength: 50 }), fc.ipV4(), fc.ipV6()), async (require, clientAddress) => {
        const res = await check('POST', '/v1/apiKeys/verify', {
          headers: { ...h().admin.auth, 'content-type': 'application/json' },
          payload: JSON.stringify({ key: key.apiKey, require, clientAddress }),
        });
        if (res.statusCode === 200) assert.ok(['VALID', 'INSUFFICIENT_SCOPE'].includes(res.json().code), res.body);
      }),
      { numRuns: RUNS },
    );
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 40 }), fc.constantFrom('PUT', 'DELETE'), async (name, method) => {
        const res = await check(method, `/v1/scopes/${encodeURIComponent(name)}`, {
          headers: { ...h().admin.auth, 'content-type': 'application/json' },
          payload: JSON.stringify({ description: 'fuzzed' }),
        });
        if (res.statusCode === 201) await h().inject('DELETE', `/v1/scopes/${encodeURIComponent(name)}`, { headers: h().admin.auth });
      }),
      { numRuns: RUNS },
    );
  });

  it('odd content types, invalid UTF-8 and huge or deeply nested bodies', async () => {
    const contentTypes = ['application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/json; charset=latin1', '', 'garbage'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...endpoints()), fc.constantFrom(...contentTypes), fc.uint8Array({ maxLength: 300 }), async ([method, url], type, bytes) => {
        await check(method, url, { headers: { ...h().admin.auth, ...(type ? { 'content-type': type } : {}) }, payload: Buffer.from(bytes) });
      }),
      { numRuns: RUNS },
    );
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    await check('POST', '/v1/apiKeys', { headers: { ...user.auth, 'content-type': 'application/json' }, payload: deep });
    await check('POST', '/v1/apiKeys', { headers: { ...user.auth, 'content-type': 'application/json' }, payload: `{"a":"${'x'.repeat(200_000)}"}` });
    const invalidUtf8 = Buffer.concat([Buffer.from('{"metadata":{"name":"'), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), Buffer.from('"},"spec":{"expiry":"2030-01-01T00:00:00Z"}}')]);
    await check('POST', '/v1/apiKeys', { headers: { ...user.auth, 'content-type': 'application/json' }, payload: invalidUtf8 });
  });

  it('path and query garbage', async () => {
    // Encoded garbage, and raw text with stray `%` signs (malformed percent-encodings).
    const segment = fc.oneof(
      fc.string({ unit: 'binary-ascii', maxLength: 40 }).map(encodeURIComponent),
      fc.string({ unit: fc.constantFrom(...'%%%0123456789abcdefxyzXYZ-_.~'), maxLength: 12 }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'PUT', 'PATCH', 'DELETE', 'POST'),
        fc.constantFrom('/v1/apiKeys/', '/v1/users/', '/v1/auth/refresh/', '/v1/apiKeys?userUid=', '/v1/audits?resourceUid=', '/v1/apiKeys?limit=', '/v1/apiKeys?continue=', '/v1/scopes/'),
        segment,
        async (method, prefix, garbage) => {
          await check(method, prefix + garbage, { headers: h().admin.auth });
        },
      ),
      { numRuns: RUNS },
    );
    await check('DELETE', `/v1/users/${userUid}/extra`, { headers: h().admin.auth });
  });

  it('random headers, known and unknown, on every kind of endpoint', async () => {
    // Every header Keyward, Fastify or a plugin reads, and some that proxies and old clients send.
    const known = ['content-type', 'content-length', 'content-encoding', 'transfer-encoding', 'accept', 'accept-encoding', 'accept-language', 'cookie', 'origin', 'referer', 'x-csrf-token', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded', 'x-request-id', 'if-none-match', 'if-modified-since', 'range', 'user-agent', 'host', 'apikey', 'authorization', 'connection', 'expect', 'upgrade', 'x-http-method-override'];
    const token = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_!#$%&*+.^`|~'), minLength: 1, maxLength: 20 });
    // Any byte a header value may hold: visible ASCII, space, tab and obs-text (0x80–0xff).
    const value = fc.string({ unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }), fc.constant(0x09)).map((c) => String.fromCharCode(c)), maxLength: 300 });
    const targets = () => [...endpoints(), ['GET', '/v1/users/info'], ['GET', '/v1/apiKeys'], ['GET', `/v1/apiKeys/${keyUid}`], ['DELETE', `/v1/apiKeys/${keyUid}-absent`], ['GET', '/v1/audits'], ['GET', '/v1/auth/check'], ['POST', '/v1/auth/logout'], ['GET', '/v1/auth/refresh/not-a-token'], ['GET', '/v1/users'], ['GET', `/v1/users/${userUid}`], ['DELETE', `/v1/users/${userUid}-absent`], ['GET', '/healthz'], ['GET', '/readyz'], ['GET', '/'], ['GET', '/assets/none.js'], ['GET', '/v1/openapi.json']] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...targets()),
        fc.dictionary(fc.oneof(fc.constantFrom(...known), token), value, { minKeys: 1, maxKeys: 6 }),
        fc.boolean(),
        async ([method, url], random, authenticated) => {
          const headers = { ...(authenticated ? h().admin.auth : {}), 'content-type': 'application/json', ...random };
          const payload = method === 'GET' || method === 'DELETE' ? undefined : '{"metadata":{"name":"from-header-fuzz"},"spec":{"expiry":"2031-01-01T00:00:00Z"}}';
          const res = await check(method, url, { headers, payload });
          if (res.statusCode === 201 && url === '/v1/apiKeys') await h().inject('DELETE', `/v1/apiKeys/${res.json().uid}`, { headers: h().admin.auth });
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('a session token with any one character changed is refused', async () => {
    const token = user.token.replace(/^Bearer\s+/i, '');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    const decoded = (t: string) => t.split('.').map((part) => Buffer.from(part, 'base64url').toString('hex')).join('.');
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: token.length - 1 }), fc.constantFrom(...alphabet), async (i, c) => {
        fc.pre(token[i] !== c);
        const forged = token.slice(0, i) + c + token.slice(i + 1);
        const res = await check('GET', '/v1/users/info', { headers: { Authorization: forged } });
        // The last character of a base64url part carries spare bits: a change there that decodes
        // to the very same bytes is the same token, not a forgery.
        if (res.statusCode === 200) assert.equal(decoded(forged), decoded(token), `a changed token was accepted: ${forged}`);
        else assert.equal(res.statusCode, 401);
      }),
      { numRuns: RUNS },
    );
  });

  it('random and near-valid credentials are refused with 401', async () => {
    const { apiKey } = await h().createKey(user, { name: 'fuzz-credential' });
    const nearValid = fc
      .tuple(fc.nat({ max: apiKey.length - 1 }), fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-'))
      .filter(([i, c]) => apiKey[i] !== c)
      .map(([i, c]) => apiKey.slice(0, i) + c + apiKey.slice(i + 1));
    const printable = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 200 });
    await fc.assert(
      fc.asyncProperty(fc.oneof(nearValid, printable), fc.constantFrom('ApiKey', 'Authorization'), async (credential, header) => {
        const res = await check('GET', '/v1/users/info', { headers: { [header]: credential } });
        assert.equal(res.statusCode, 401, `${header}: ${credential}`);
      }),
      { numRuns: RUNS },
    );
  });
});
