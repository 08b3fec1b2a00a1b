/**
 * Route rules across server processes on one PostgreSQL database: a PUT /v1/authRoutes on one
 * instance holds on the others within 1 second, although each has the tenant's rules cached.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createPostgres, databases, type TestDatabase } from './helpers/databases.js';
import { http, type ServerProcess, startServer } from './helpers/server.js';

const hasPostgres = databases().some((d) => d.name === 'postgres');
const HOLD_MS = 1000;

describe('route rules across instances [postgres]', { skip: !hasPostgres && 'PostgreSQL not available' }, () => {
  let db: TestDatabase;
  let a: ServerProcess;
  let b: ServerProcess;
  let token: string;
  let apiKey: string;
  const env = () => ({ KEYWARD_DATABASE_URL: db.url, KEYWARD_SECRET: 'route-rules-secret-0123', KEYWARD_ADMIN_PASSWORD: 'keeper-password-1' });

  before(async () => {
    db = await createPostgres();
    a = await startServer({ env: env() });
    b = await startServer({ env: env() });
    token = (await http(`${a.url}/v1/auth/authenticate`, { method: 'POST', body: { emailId: 'admin@keyward.local', password: 'keeper-password-1' } })).body.Authorization;
    assert.equal((await http(`${a.url}/v1/scopes/orders:read`, { method: 'PUT', headers: { Authorization: token }, body: { description: 'Read orders' } })).status < 300, true);
    const created = await http(`${a.url}/v1/apiKeys`, {
      method: 'POST',
      headers: { Authorization: token },
      body: { metadata: { name: 'across' }, spec: { expiry: new Date(Date.now() + 86_400_000).toISOString(), scopes: ['orders:read'] } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    apiKey = created.body.apiKey;
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await db?.drop();
  });

  const put = (server: ServerProcess, body: unknown) => http(`${server.url}/v1/authRoutes`, { method: 'PUT', headers: { Authorization: token }, body });
  const check = async (server: ServerProcess, uri: string) =>
    (await http(`${server.url}/v1/auth/check`, { headers: { ApiKey: apiKey, 'X-Original-Method': 'GET', 'X-Original-URI': uri } })).status;
  /** Polls `server` until `uri` answers `expected`; fails past HOLD_MS. */
  const holdsWithin = async (server: ServerProcess, uri: string, expected: number) => {
    const start = performance.now();
    for (;;) {
      const status = await check(server, uri);
      if (status === expected) return performance.now() - start;
      assert.ok(performance.now() - start < HOLD_MS, `${server.url} still answers ${status} for ${uri} after ${HOLD_MS} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  it('a change on A is in force on B within a second, both ways, with B\'s cache warm', async () => {
    assert.equal((await put(a, { mode: 'enforce', default: 'allow', rules: [] })).status, 200);
    // Warm both instances' caches of the key and the rules.
    for (const server of [a, b]) for (let i = 0; i < 3; i++) assert.equal(await check(server, '/admin/x'), 200);

    assert.equal((await put(a, { mode: 'enforce', default: 'allow', rules: [{ methods: ['*'], path: '/admin/**', require: 'admin:all' }] })).status, 200);
    assert.equal(await check(a, '/admin/x'), 403, 'at once on the instance that answered');
    await holdsWithin(b, '/admin/x', 403);
    assert.equal(await check(b, '/orders/1'), 200);

    assert.equal((await put(b, { mode: 'audit', default: 'allow', rules: [{ methods: ['*'], path: '/admin/**', require: 'admin:all' }] })).status, 200);
    assert.equal(await check(b, '/admin/x'), 200);
    await holdsWithin(a, '/admin/x', 200);

    assert.equal((await put(a, { mode: 'enforce', default: 'deny', rules: [] })).status, 200);
    await holdsWithin(b, '/orders/1', 403);
  });
});
