/**
 * The server as a process: first start on embedded SQLite, the generated secret and admin
 * password, credentials kept out of the logs, graceful stop, and PostgreSQL's required secret.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createPostgres, databases } from './helpers/databases.js';
import { http, run, startServer } from './helpers/server.js';

describe('server process on embedded SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-serve-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const env = { KEYWARD_DATABASE_URL: '', KEYWARD_SECRET: '', KEYWARD_ADMIN_PASSWORD: '' };

  it('first start: creates ./data, a 0600 secret, tenant default and an admin whose generated password is printed once', async () => {
    const server = await startServer({ cwd: dir, env });
    let apiKey = '';
    let token = '';
    try {
      const secretFile = join(dir, 'data', 'secret');
      assert.equal(statSync(secretFile).mode & 0o777, 0o600);
      assert.ok(statSync(join(dir, 'data', 'keyward.db')).isFile());
      const password = server.stderr().match(/password:\s+(\S+)/)?.[1];
      assert.ok(password && password.length >= 20, 'a strong password is printed');

      const signIn = await http(`${server.url}/v1/auth/authenticate`, { method: 'POST', body: { emailId: 'admin@keyward.local', password } });
      assert.equal(signIn.status, 200);
      token = signIn.body.Authorization;
      const created = await http(`${server.url}/v1/apiKeys`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}` },
        body: { metadata: { name: 'process-key' }, spec: { expiry: new Date(Date.now() + 86_400_000).toISOString() } },
      });
      assert.equal(created.status, 201);
      apiKey = created.body.apiKey;
      assert.equal((await http(`${server.url}/v1/users/info?ApiKey=${apiKey}`)).status, 200);
      assert.equal((await http(`${server.url}/v1/users/info`, { headers: { apiKey } })).status, 200);
      assert.equal((await http(`${server.url}/v1/auth/refresh/${token}`)).status, 200);
      assert.equal((await http(`${server.url}/readyz`)).status, 200);
    } finally {
      assert.equal(await server.stop('SIGTERM'), 0, 'SIGTERM stops it cleanly with exit code 0');
    }

    // The logs: JSON lines, one per request with its id, and never a credential.
    const lines = server.stdout().trim().split('\n');
    const records = lines.map((l) => JSON.parse(l));
    const completed = records.filter((r) => r.msg === 'request completed');
    assert.ok(completed.length >= 6);
    assert.ok(completed.every((r) => typeof r.reqId === 'string'));
    const everything = server.stdout() + server.stderr();
    assert.ok(!everything.includes(apiKey), 'the API key is never logged');
    assert.ok(!everything.includes(token), 'the token is never logged');
    assert.ok(everything.includes('[REDACTED]'));

    // Second start: the same secret (the key still works), and no password printed again.
    const again = await startServer({ cwd: dir, env });
    try {
      assert.ok(!/password:/.test(again.stderr()));
      assert.equal((await http(`${again.url}/v1/users/info`, { headers: { ApiKey: apiKey } })).status, 200);
    } finally {
      assert.equal(await again.stop('SIGINT'), 0);
    }
    assert.equal(readFileSync(join(dir, 'data', 'secret'), 'utf8').trim().length > 30, true);
  });

  it('KEYWARD_ADMIN_EMAIL and KEYWARD_ADMIN_PASSWORD choose the first admin', async () => {
    const own = mkdtempSync(join(tmpdir(), 'keyward-serve-'));
    const server = await startServer({ cwd: own, env: { ...env, KEYWARD_ADMIN_EMAIL: 'boss@corp.example', KEYWARD_ADMIN_PASSWORD: 'chosen-password-1' } });
    try {
      assert.ok(!/password:/.test(server.stderr()));
      const signIn = await http(`${server.url}/v1/auth/authenticate`, { method: 'POST', body: { emailId: 'boss@corp.example', password: 'chosen-password-1' } });
      assert.equal(signIn.status, 200);
    } finally {
      await server.stop();
      rmSync(own, { recursive: true, force: true });
    }
  });

  it('refuses a bad setting with a one-line reason', async () => {
    const res = await run(['serve'], { cwd: dir, env: { KEYWARD_PORT: 'eighty' } });
    assert.equal(res.code, 1);
    assert.equal(res.stderr.trim().split('\n').length, 1);
    assert.match(res.stderr, /KEYWARD_PORT/);
  });
});

describe('server process on PostgreSQL', { skip: !databases().some((d) => d.name === 'postgres') && 'PostgreSQL not available' }, () => {
  it('refuses to start without KEYWARD_SECRET, with a one-line reason', async () => {
    const res = await run(['serve'], { env: { KEYWARD_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres', KEYWARD_SECRET: '' } });
    assert.equal(res.code, 1);
    assert.equal(res.stderr.trim().split('\n').length, 1);
    assert.match(res.stderr, /KEYWARD_SECRET is required with PostgreSQL/);
  });

  it('two instances started together on one empty database bootstrap one tenant and share keys', async () => {
    const db = await createPostgres();
    const env = { KEYWARD_DATABASE_URL: db.url, KEYWARD_SECRET: 'shared-secret-for-both-instances', KEYWARD_ADMIN_PASSWORD: 'keeper-password-1' };
    const [a, b] = await Promise.all([startServer({ env }), startServer({ env })]);
    try {
      const signIn = await http(`${a.url}/v1/auth/authenticate`, { method: 'POST', body: { emailId: 'admin@keyward.local', password: 'keeper-password-1' } });
      const token = signIn.body.Authorization;
      const users = await http(`${b.url}/v1/users`, { headers: { Authorization: token } });
      assert.equal(users.status, 200, 'a token from one instance works on the other');
      assert.equal(users.body.items.length, 1, 'exactly one tenant admin was bootstrapped');
      const created = await http(`${a.url}/v1/apiKeys`, {
        method: 'POST',
        headers: { Authorization: token },
        body: { metadata: { name: 'shared' }, spec: { expiry: new Date(Date.now() + 86_400_000).toISOString() } },
      });
      const key = created.body.apiKey;
      assert.equal((await http(`${b.url}/v1/users/info`, { headers: { ApiKey: key } })).status, 200);
      assert.equal((await http(`${a.url}/v1/apiKeys/${created.body.uid}`, { method: 'PATCH', headers: { Authorization: token }, body: { isActive: false } })).status, 204);
      assert.equal((await http(`${b.url}/v1/users/info`, { headers: { ApiKey: key } })).status, 401, 'revoked on A is refused on B');
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      await db.drop();
    }
  });
});
