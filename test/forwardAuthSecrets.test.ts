/**
 * A secret in the original request's path (X-Original-URI: a capability URL, a token in a
 * callback path, someone's key pasted into a URL) never reaches Keyward's log, audit log or
 * answers when the route rules refuse the request: the path is reported with such runs masked,
 * as the request log masks them (reviewer r2; "never log, return or store an API key in clear").
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApp } from '../src/http/app.js';
import { loggerOptions } from '../src/http/logging.js';
import { eachDatabase } from './helpers/harness.js';

eachDatabase('forward-auth refusals never repeat a secret from the original path', (h) => {
  let app: FastifyInstance;
  const lines: string[] = [];

  before(async () => {
    const stream = new Writable({ write: (chunk, _enc, cb) => (lines.push(...String(chunk).split('\n').filter(Boolean)), cb()) });
    app = await buildApp({ services: h().services, logger: pino(loggerOptions('info'), stream) });
  });
  after(async () => app?.close());

  const rules = (mode: string) =>
    h().inject('PUT', '/v1/authRoutes', {
      headers: h().admin.auth,
      body: { mode, default: 'deny', rules: [{ methods: ['GET'], path: '/admin/**', require: 'users:write' }] },
    });

  it('in enforce mode (the 403) and in audit mode (the warning and the audit entry), the path is shown with the secret masked', async () => {
    const user = await h().createUser();
    const reader = await h().inject('POST', '/v1/apiKeys', {
      headers: user.auth,
      body: { metadata: { name: 'reader' }, spec: { expiry: h().expiryIn(3), scopes: ['apiKeys:read'] } },
    });
    const caller = reader.json().apiKey as string;
    const { apiKey: secret } = await h().createKey(user);
    const paths = [`/admin/${secret}`, `/files/${secret.slice(3)}`, `/admin/share/${secret}/view`];
    const check = (uri: string) => app.inject({ method: 'GET', url: '/v1/auth/check', headers: { ApiKey: caller, 'X-Original-URI': uri, 'X-Original-Method': 'GET' } });

    assert.equal((await rules('enforce')).statusCode, 200);
    for (const uri of paths) {
      const res = await check(uri);
      assert.equal(res.statusCode, 403, res.body);
      assert.ok(!res.body.includes(secret.slice(3, 30)), `the 403 repeats the secret: ${res.body}`);
      assert.match(res.json().message, /\[REDACTED\]/);
    }
    // What a path says is kept where it is no secret.
    const plain = await check('/admin/users/42');
    assert.match(plain.json().message, /GET \/admin\/users\/42/);

    assert.equal((await rules('audit')).statusCode, 200);
    for (const uri of paths) assert.equal((await check(uri)).statusCode, 200);
    const warnings = lines.filter((l) => l.includes('authRoute.refusalObserved'));
    assert.ok(warnings.length >= paths.length, 'the refusals were logged');
    for (const l of lines) assert.ok(!l.includes(secret.slice(3, 30)), `a log line holds the secret: ${l}`);
    const audits = await h().inject('GET', '/v1/audits?limit=100', { headers: h().admin.auth });
    assert.equal(audits.statusCode, 200);
    assert.ok(audits.body.includes('refusalObserved'), 'the refusals were audited');
    assert.ok(!audits.body.includes(secret.slice(3, 30)), 'an audit entry holds the secret');
    assert.equal((await h().inject('PUT', '/v1/authRoutes', { headers: h().admin.auth, body: { mode: 'enforce', default: 'allow', rules: [] } })).statusCode, 200);
  });
});
