/**
 * First start after `keyward tenant create`: tenant `default` is created when
 * KEYWARD_ADMIN_PASSWORD asks for it, and otherwise the server says, in one line, that it was not
 * and why; never a silent skip. With the CLI and real server processes, on both databases.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { databases, type TestDatabase } from './helpers/databases.js';
import { http, run, type ServerProcess, startServer } from './helpers/server.js';

for (const factory of databases()) {
  describe(`first start after tenant create [${factory.name}]`, () => {
    let db: TestDatabase;
    let env: Record<string, string>;
    const signIn = async (url: string, emailId: string, password: string) => {
      const res = await http(`${url}/v1/auth/authenticate?setCookie=false`, { method: 'POST', body: { emailId, password } });
      if (res.status !== 200) return { status: res.status };
      const info = await http(`${url}/v1/users/info`, { headers: { Authorization: res.body.Authorization } });
      return { status: res.status, orgName: info.body.orgName as string };
    };

    before(async () => {
      db = await factory.create();
      // KEYWARD_ADMIN_PASSWORD '' is unset, whatever the environment running the tests holds.
      env = { KEYWARD_DATABASE_URL: db.url, KEYWARD_SECRET: 'bootstrap-test-secret-0123456789', KEYWARD_ADMIN_PASSWORD: '', KEYWARD_ADMIN_EMAIL: '' };
      const t = await run(['tenant', 'create', '--name', 'acme', '--admin-email', 'root@acme.example', '--admin-password', 'acme-password-1'], { env });
      assert.equal(t.code, 0, t.stderr);
    });
    after(async () => {
      await db?.drop();
    });

    it('without KEYWARD_ADMIN_PASSWORD: not created, and the server says so in one line, with what to do', async () => {
      const server = await startServer({ env });
      try {
        const lines = await skippedLines(server);
        assert.equal(lines.length, 1, server.stderr());
        assert.match(lines[0]!, /already holds 1 tenant/);
        assert.match(lines[0]!, /KEYWARD_ADMIN_PASSWORD/);
        assert.ok(server.stdout().includes('was not created'), 'and in the log');
        assert.equal((await signIn(server.url, 'admin@keyward.local', 'keeper-password-1')).status, 401);
        assert.deepEqual(await signIn(server.url, 'root@acme.example', 'acme-password-1'), { status: 200, orgName: 'acme' });
      } finally {
        await server.stop();
      }
    });

    it('with KEYWARD_ADMIN_PASSWORD: created on the next start, and only once', async () => {
      const server = await startServer({ env: { ...env, KEYWARD_ADMIN_PASSWORD: 'keeper-password-1' } });
      try {
        assert.deepEqual(await skippedLines(server, 0), []);
        assert.deepEqual(await signIn(server.url, 'admin@keyward.local', 'keeper-password-1'), { status: 200, orgName: 'default' });
        assert.deepEqual(await signIn(server.url, 'root@acme.example', 'acme-password-1'), { status: 200, orgName: 'acme' });
      } finally {
        await server.stop();
      }
      // Once it exists, a start changes nothing: no second tenant, no password reset, no message.
      const again = await startServer({ env: { ...env, KEYWARD_ADMIN_PASSWORD: 'another-password-2' } });
      try {
        assert.deepEqual(await skippedLines(again, 0), []);
        assert.equal((await signIn(again.url, 'admin@keyward.local', 'another-password-2')).status, 401);
        assert.equal((await signIn(again.url, 'admin@keyward.local', 'keeper-password-1')).status, 200);
      } finally {
        await again.stop();
      }
    });
  });

  describe(`first start when the admin email is taken [${factory.name}]`, () => {
    it('says the email is taken, starts anyway, and the tenant made with the CLI works', async () => {
      const db = await factory.create();
      try {
        const env = { KEYWARD_DATABASE_URL: db.url, KEYWARD_SECRET: 'bootstrap-test-secret-0123456789', KEYWARD_ADMIN_EMAIL: '' };
        const t = await run(['tenant', 'create', '--name', 'acme', '--admin-email', 'admin@keyward.local', '--admin-password', 'acme-password-1'], { env });
        assert.equal(t.code, 0, t.stderr);
        const server = await startServer({ env: { ...env, KEYWARD_ADMIN_PASSWORD: 'keeper-password-1' } });
        try {
          const lines = await skippedLines(server);
          assert.equal(lines.length, 1, server.stderr());
          assert.match(lines[0]!, /KEYWARD_ADMIN_EMAIL admin@keyward.local is already a user/);
          const res = await http(`${server.url}/v1/auth/authenticate?setCookie=false`, { method: 'POST', body: { emailId: 'admin@keyward.local', password: 'acme-password-1' } });
          assert.equal(res.status, 200);
        } finally {
          await server.stop();
        }
      } finally {
        await db.drop();
      }
    });
  });
}

/** The server's "not created" lines on stderr, waiting a little for one that was written before it listened. */
async function skippedLines(server: ServerProcess, waitMs = 2000) {
  const lines = () => server.stderr().split('\n').filter((l) => l.includes('"default" was not created'));
  for (const start = performance.now(); lines().length === 0 && performance.now() - start < waitMs; ) await new Promise((r) => setTimeout(r, 20));
  return lines();
}
