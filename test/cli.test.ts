/** The keyward command: tenant and user creation on the database, keys against a running server. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Store } from '../src/store/store.js';
import { insertKeys } from './helpers/bulk.js';
import { databases, type TestDatabase } from './helpers/databases.js';
import { http, run, type ServerProcess, startServer } from './helpers/server.js';

for (const factory of databases()) {
  describe(`keyward CLI [${factory.name}]`, () => {
    let db: TestDatabase;
    let server: ServerProcess;
    let env: Record<string, string>;

    before(async () => {
      db = await factory.create();
      env = { KEYWARD_DATABASE_URL: db.url, KEYWARD_SECRET: 'cli-test-secret-0123456789', KEYWARD_ADMIN_PASSWORD: 'keeper-password-1' };
      server = await startServer({ env });
    });
    after(async () => {
      await server.stop();
      await db.drop();
    });

    it('tenant create and user create work on the database, with readable and --json output', async () => {
      const t = await run(['tenant', 'create', '--name', 'acme', '--admin-email', 'root@acme.example'], { env });
      assert.equal(t.code, 0, t.stderr);
      assert.match(t.stdout, /Created tenant "acme"/);
      const password = t.stdout.match(/shown once: (\S+)/)?.[1];
      assert.ok(password);
      const signIn = await http(`${server.url}/v1/auth/authenticate`, { method: 'POST', body: { emailId: 'root@acme.example', password } });
      assert.equal(signIn.status, 200);

      const u = await run(['user', 'create', '--tenant', 'acme', '--email', 'dev@acme.example', '--password', 'coder-password-1', '--json'], { env });
      assert.equal(u.code, 0, u.stderr);
      assert.equal(JSON.parse(u.stdout).email, 'dev@acme.example');

      const dup = await run(['tenant', 'create', '--name', 'acme', '--admin-email', 'other@acme.example'], { env });
      assert.equal(dup.code, 1);
      assert.equal(dup.stderr.trim().split('\n').length, 1);
      assert.match(dup.stderr, /already exists/);
      const missing = await run(['tenant', 'create', '--name', 'x'], { env });
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /--admin-email is required/);
      const noTenant = await run(['user', 'create', '--tenant', 'nope', '--email', 'a@b.example'], { env });
      assert.equal(noTenant.code, 1);
      assert.match(noTenant.stderr, /Tenant "nope" was not found/);
    });

    it('keys create, list, revoke, activate and delete against the server', async () => {
      const login = ['--url', server.url, '--email', 'admin@keyward.local', '--password', 'keeper-password-1'];
      const created = await run(['keys', 'create', '--name', 'from-cli', '--description', 'made by the CLI', '--days', '7', '--json', ...login], { env });
      assert.equal(created.code, 0, created.stderr);
      const { apiKey, uid } = JSON.parse(created.stdout);
      assert.match(apiKey, /^kw_/);
      const withKey = ['--url', server.url, '--api-key', apiKey];

      const list = await run(['keys', 'list', ...withKey], { env });
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /^UID\s+NAME\s+STATE\s+EXPIRES\s+USER\s+LAST USED/);
      assert.match(list.stdout, new RegExp(`${uid}\\s+from-cli\\s+Active`));
      assert.ok(!list.stdout.includes(apiKey));

      const revoke = await run(['keys', 'revoke', uid, ...login], { env });
      assert.equal(revoke.code, 0, revoke.stderr);
      assert.match(revoke.stdout, /Revoked API key/);
      assert.equal((await http(`${server.url}/v1/users/info`, { headers: { ApiKey: apiKey } })).status, 401);
      const refused = await run(['keys', 'list', ...withKey], { env });
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /revoked/i);

      assert.equal((await run(['keys', 'activate', uid, ...login], { env })).code, 0);
      assert.equal((await http(`${server.url}/v1/users/info`, { headers: { ApiKey: apiKey } })).status, 200);
      const listed = JSON.parse((await run(['keys', 'list', '--json', ...withKey], { env })).stdout);
      assert.equal(listed.find((k: any) => k.metadata.uid === uid).status.isActive, true);

      assert.equal((await run(['keys', 'delete', uid, ...login], { env })).code, 0);
      assert.equal((await http(`${server.url}/v1/users/info`, { headers: { ApiKey: apiKey } })).status, 401);
      const gone = await run(['keys', 'delete', uid, ...login], { env });
      assert.equal(gone.code, 1);
      assert.match(gone.stderr, /not found/);
    });

    it('stored names with control and format characters are printed escaped, in the table and in JSON', async () => {
      const login = ['--url', server.url, '--email', 'admin@keyward.local', '--password', 'keeper-password-1'];
      const created = await run(['keys', 'create', '--name', 'to-be-evil', '--json', ...login], { env });
      assert.equal(created.code, 0, created.stderr);
      const { uid } = JSON.parse(created.stdout);
      // As data stored before names refused these would be: written past the API, into the database.
      const evil = 'evil\u001b[2J\u001b]0;pwned\u0007\u202Eexe.txt\u009b31m\nline';
      const store = await Store.open(db.url);
      try {
        await store.connection.db.updateTable('api_keys').set({ name: evil }).where('uid', '=', uid).execute();
      } finally {
        await store.close();
      }
      const raw = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\p{Cf}\u2028\u2029]/u;
      const list = await run(['keys', 'list', ...login], { env });
      assert.equal(list.code, 0, list.stderr);
      assert.doesNotMatch(list.stdout, raw);
      assert.ok(list.stdout.includes('evil\\u001b[2J\\u001b]0;pwned\\u0007\\u202eexe.txt\\u009b31m\\nline'), list.stdout);
      const json = await run(['keys', 'list', '--json', ...login], { env });
      assert.equal(json.code, 0, json.stderr);
      assert.equal(list.stdout.trimEnd().split('\n').length, 1 + JSON.parse(json.stdout).length, 'one line per key');
      assert.doesNotMatch(json.stdout.replace(/\n/g, ''), raw);
      assert.equal(JSON.parse(json.stdout).find((k: any) => k.metadata.uid === uid).metadata.name, evil, 'the JSON still means the stored name');
      assert.equal((await run(['keys', 'delete', uid, ...login], { env })).code, 0);
    });

    it('keys list follows continue, a page at a time, to the last key', async () => {
      const login = ['--url', server.url, '--email', 'admin@keyward.local', '--password', 'keeper-password-1'];
      const signIn = await http(`${server.url}/v1/auth/authenticate`, { method: 'POST', body: { emailId: 'admin@keyward.local', password: 'keeper-password-1' } });
      const me = (await http(`${server.url}/v1/users/info`, { headers: { Authorization: signIn.body.Authorization } })).body;
      const store = await Store.open(db.url);
      let made: string[];
      try {
        made = await insertKeys(store, { secret: env.KEYWARD_SECRET, tenantUid: me.tenantUid, userUid: me.userUid, count: 1234, createdAt: Date.now(), prefix: 'cli-many' });
      } finally {
        await store.close();
      }
      const list = await run(['keys', 'list', '--json', ...login], { env });
      assert.equal(list.code, 0, list.stderr);
      const listed = new Set(JSON.parse(list.stdout).map((k: any) => k.metadata.uid));
      assert.ok(made.every((uid) => listed.has(uid)), 'every key, past any one page');
      // Its requests, as the server logged them: pages of 500, each after the previous one's continue.
      await new Promise((r) => setTimeout(r, 500));
      const urls = [...server.stdout().matchAll(/"url":"(\/v1\/apiKeys[^"]*)"/g)].map((m) => m[1]).filter((u) => u.includes('limit=500'));
      assert.ok(urls.length >= 3, `pages requested: ${urls.join(' ')}`);
      // The log masks a continue token as it masks any long run of a secret's alphabet.
      assert.ok(urls.slice(-2).every((u) => /[?&]continue=(?:\[REDACTED\]|[A-Za-z0-9_-]+)/.test(u)), urls.join(' '));
    });

    it('clear errors: no credentials, unreachable server, unknown command', async () => {
      const none = await run(['keys', 'list', '--url', server.url], { env: { ...env, KEYWARD_API_KEY: '', KEYWARD_EMAIL: '' } });
      assert.equal(none.code, 1);
      assert.match(none.stderr, /--api-key/);
      const down = await run(['keys', 'list', '--url', 'http://127.0.0.1:9', '--api-key', 'kw_x'], { env });
      assert.equal(down.code, 1);
      assert.match(down.stderr, /cannot reach/);
      const unknown = await run(['frobnicate'], { env });
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /unknown command/);
      const help = await run(['--help'], { env });
      assert.equal(help.code, 0);
      assert.match(help.stdout, /keys create/);
    });
  });
}

describe('keyward CLI against a hostile server', () => {
  it('prints its error message and its values escaped', async () => {
    const evil = 'boom\u001b[2J\u001b]8;;http://evil.example\u0007click\u202E';
    const fake = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url?.startsWith('/v1/apiKeys') && req.method === 'POST') {
        res.statusCode = 201;
        return res.end(JSON.stringify({ uid: `uid${evil}`, apiKey: `kw_${evil}` }));
      }
      res.statusCode = 403;
      res.end(JSON.stringify({ code: 'Forbidden', message: evil, ref: 'r', details: {} }));
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
      const raw = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\p{Cf}]/u;
      const refused = await run(['keys', 'list', '--url', url, '--api-key', 'kw_x']);
      assert.equal(refused.code, 1);
      assert.doesNotMatch(refused.stderr.trimEnd(), raw);
      assert.match(refused.stderr, /boom\\u001b\[2J/);
      const created = await run(['keys', 'create', '--name', 'n', '--url', url, '--api-key', 'kw_x']);
      assert.equal(created.code, 0, created.stderr);
      assert.doesNotMatch(created.stdout.replace(/\n/g, ''), raw);
      assert.match(created.stdout, /kw_boom\\u001b\[2J/);
    } finally {
      fake.close();
    }
  });
});
