/** The keyward command for issue 11: scoped keys with address allowlists, the scope catalogue, service accounts. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { READ_ONLY_SCOPES } from '../src/domain/scopes.js';
import { databases, type TestDatabase } from './helpers/databases.js';
import { http, run, type ServerProcess, startServer } from './helpers/server.js';

/** The one line of a table that mentions `needle`, split into its cells (two or more spaces apart). */
function rowOf(tableText: string, needle: string): string[] {
  const line = tableText.split('\n').find((l) => l.includes(needle));
  assert.ok(line, `no row with ${needle} in:\n${tableText}`);
  return line.split(/\s{2,}/);
}

for (const factory of databases()) {
  describe(`keyward CLI: scopes, allowed addresses, service accounts [${factory.name}]`, () => {
    let db: TestDatabase;
    let server: ServerProcess;
    let env: Record<string, string>;
    let login: string[];
    let adminToken: string;

    before(async () => {
      db = await factory.create();
      env = { KEYWARD_DATABASE_URL: db.url, KEYWARD_SECRET: 'cli-scopes-secret-0123456789', KEYWARD_ADMIN_PASSWORD: 'keeper-password-1' };
      server = await startServer({ env });
      login = ['--url', server.url, '--email', 'admin@keyward.local', '--password', 'keeper-password-1'];
      const signIn = await http(`${server.url}/v1/auth/authenticate`, { method: 'POST', body: { emailId: 'admin@keyward.local', password: 'keeper-password-1' } });
      adminToken = signIn.body.Authorization;
    });
    after(async () => {
      await server.stop();
      await db.drop();
    });

    const createKey = async (args: string[], auth = login) => {
      const r = await run(['keys', 'create', '--json', ...args, ...auth], { env });
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as { apiKey: string; uid: string };
    };
    const keyOverApi = async (uid: string) => (await http(`${server.url}/v1/apiKeys/${uid}`, { headers: { Authorization: adminToken } })).body;

    it('keys create --scope (repeated and comma-separated) and --allow-cidr: shown by keys list, stored as sent, enforced', async () => {
      const { apiKey, uid } = await createKey(['--name', 'reader', '--scope', 'apiKeys:read', '--scope', 'users:read,keys:verify', '--allow-cidr', '127.0.0.0/8', '--allow-cidr', '::1']);
      const full = await createKey(['--name', 'everything']);

      const key = await keyOverApi(uid);
      assert.deepEqual(key.spec.scopes, ['apiKeys:read', 'users:read', 'keys:verify']);
      assert.deepEqual(key.spec.allowedCidrs, ['127.0.0.0/8', '::1/128']);
      assert.deepEqual((await keyOverApi(full.uid)).spec.scopes, ['*']);

      const list = await run(['keys', 'list', ...login], { env });
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /^UID\s+NAME\s+STATE\s+EXPIRES\s+USER\s+LAST USED\s+SCOPES\s+ALLOWED ADDRESSES$/m);
      assert.deepEqual(rowOf(list.stdout, uid).slice(-2), ['apiKeys:read,users:read,keys:verify', '127.0.0.0/8,::1/128']);
      assert.deepEqual(rowOf(list.stdout, full.uid).slice(-2), ['full access', 'any']);
      const json = JSON.parse((await run(['keys', 'list', '--json', ...login], { env })).stdout);
      assert.deepEqual(json.find((k: any) => k.metadata.uid === uid).spec.scopes, ['apiKeys:read', 'users:read', 'keys:verify']);

      // The scoped key reads keys through the CLI, and is refused what it was not given, naming the scope.
      const withKey = ['--url', server.url, '--api-key', apiKey];
      const read = await run(['keys', 'list', ...withKey], { env });
      assert.equal(read.code, 0, read.stderr);
      const revoke = await run(['keys', 'revoke', full.uid, ...withKey], { env });
      assert.equal(revoke.code, 1);
      assert.equal(revoke.stderr.trim().split('\n').length, 1, revoke.stderr);
      assert.match(revoke.stderr, /apiKeys:write/);
      assert.equal((await keyOverApi(full.uid)).status.isActive, true, 'the refused revoke changed nothing');
      const wider = await run(['keys', 'create', '--name', 'wider', ...withKey], { env });
      assert.equal(wider.code, 1, 'a key without apiKeys:write makes no key');

      // Full access names no scope the key lacks.
      assert.equal((await run(['keys', 'revoke', uid, '--url', server.url, '--api-key', full.apiKey], { env })).code, 0);
    });

    it('a key that may only be used from elsewhere is refused from here', async () => {
      const { apiKey, uid } = await createKey(['--name', 'elsewhere', '--allow-cidr', '192.0.2.0/24,2001:db8::/32']);
      assert.deepEqual((await keyOverApi(uid)).spec.allowedCidrs, ['192.0.2.0/24', '2001:db8::/32']);
      const refused = await run(['keys', 'list', '--url', server.url, '--api-key', apiKey], { env });
      assert.equal(refused.code, 1);
      assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
      assert.match(refused.stderr, /may not be used from your address \(127\.0\.0\.1\)/);
    });

    it('keys create --read-only gives the read-only preset; a scoped key cannot make a wider key', async () => {
      const reader = await createKey(['--name', 'read-only', '--read-only']);
      assert.deepEqual((await keyOverApi(reader.uid)).spec.scopes, [...READ_ONLY_SCOPES]);

      const writer = await createKey(['--name', 'writer', '--scope', 'apiKeys:read,apiKeys:write']);
      const withWriter = ['--url', server.url, '--api-key', writer.apiKey];
      const narrower = await createKey(['--name', 'narrower', '--scope', 'apiKeys:read'], withWriter);
      assert.deepEqual((await keyOverApi(narrower.uid)).spec.scopes, ['apiKeys:read']);
      const wider = await run(['keys', 'create', '--name', 'wider', '--scope', 'users:read', ...withWriter], { env });
      assert.equal(wider.code, 1);
      assert.match(wider.stderr, /users:read/);
      const unlimited = await run(['keys', 'create', '--name', 'unlimited', ...withWriter], { env });
      assert.equal(unlimited.code, 1, 'no --scope means full access, which a scoped key cannot hand out');
      const names = (await http(`${server.url}/v1/apiKeys`, { headers: { Authorization: adminToken } })).body.items.map((k: any) => k.metadata.name);
      assert.ok(!names.includes('wider') && !names.includes('unlimited'), names.join(' '));
    });

    it('scopes list, set and delete, with a 409 while a key holds the scope', async () => {
      const before = await run(['scopes', 'list', ...login], { env });
      assert.equal(before.code, 0, before.stderr);
      assert.match(before.stdout, /^NAME\s+BUILT-IN\s+DESCRIPTION$/m);
      assert.deepEqual(rowOf(before.stdout, 'apiKeys:write').slice(0, 2), ['apiKeys:write', 'yes']);
      assert.doesNotMatch(before.stdout, /orders\.v2:read/);

      // ':' and '.' in the name travel in the URL path.
      const set = await run(['scopes', 'set', 'orders.v2:read', '--description', 'Read orders', ...login], { env });
      assert.equal(set.code, 0, set.stderr);
      assert.match(set.stdout, /orders\.v2:read/);
      const listed = await run(['scopes', 'list', ...login], { env });
      assert.deepEqual(rowOf(listed.stdout, 'orders.v2:read'), ['orders.v2:read', 'no', 'Read orders']);
      const over = (await http(`${server.url}/v1/scopes`, { headers: { Authorization: adminToken } })).body.items;
      assert.deepEqual(
        over.find((s: any) => s.name === 'orders.v2:read'),
        { name: 'orders.v2:read', description: 'Read orders', builtIn: false },
      );
      assert.equal((await run(['scopes', 'set', 'orders.v2:read', '--description', 'Read every order', ...login], { env })).code, 0);
      const json = JSON.parse((await run(['scopes', 'list', '--json', ...login], { env })).stdout);
      assert.equal(json.find((s: any) => s.name === 'orders.v2:read').description, 'Read every order');

      const holder = await createKey(['--name', 'order-reader', '--scope', 'orders.v2:read']);
      const held = await run(['scopes', 'delete', 'orders.v2:read', ...login], { env });
      assert.equal(held.code, 1);
      assert.equal(held.stderr.trim().split('\n').length, 1, held.stderr);
      assert.match(held.stderr, /^keyward: 1 API key holds the scope "orders\.v2:read"/);
      assert.match((await run(['scopes', 'list', ...login], { env })).stdout, /orders\.v2:read/, 'still there');

      assert.equal((await run(['keys', 'delete', holder.uid, ...login], { env })).code, 0);
      const deleted = await run(['scopes', 'delete', 'orders.v2:read', ...login], { env });
      assert.equal(deleted.code, 0, deleted.stderr);
      assert.doesNotMatch((await run(['scopes', 'list', ...login], { env })).stdout, /orders\.v2:read/);
      const unknown = await run(['keys', 'create', '--name', 'late', '--scope', 'orders.v2:read', ...login], { env });
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /orders\.v2:read/);

      // Built-in scopes are not the tenant's to change; a scoped key cannot change the catalogue.
      const builtIn = await run(['scopes', 'delete', 'apiKeys:read', ...login], { env });
      assert.equal(builtIn.code, 1);
      assert.match(builtIn.stderr, /built-in/);
      const narrow = await createKey(['--name', 'narrow', '--read-only']);
      const byKey = await run(['scopes', 'set', 'billing:read', '--description', 'x', '--url', server.url, '--api-key', narrow.apiKey], { env });
      assert.equal(byKey.code, 1);
      assert.match(byKey.stderr, /does not hold the scope/);
      assert.doesNotMatch((await run(['scopes', 'list', ...login], { env })).stdout, /billing:read/);
      // Any signed-in caller may read the catalogue.
      assert.equal((await run(['scopes', 'list', '--url', server.url, '--api-key', narrow.apiKey], { env })).code, 0);
    });

    it('user create --service makes a service account that cannot sign in, whose key the admin makes through the CLI', async () => {
      const made = await run(['user', 'create', '--service', '--tenant', 'default', '--email', 'ci@robots.example', '--first-name', 'CI', '--last-name', 'Deployer', '--json'], { env });
      assert.equal(made.code, 0, made.stderr);
      const svc = JSON.parse(made.stdout);
      assert.equal(svc.kind, 'service');
      const text = await run(['user', 'create', '--service', '--tenant', 'default', '--email', 'backup@robots.example'], { env });
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /^Created service account backup@robots\.example \([\w-]+\)\.$/m);

      const user = (await http(`${server.url}/v1/users/${svc.uid}`, { headers: { Authorization: adminToken } })).body;
      assert.equal(user.spec.kind, 'service');
      const signIn = await http(`${server.url}/v1/auth/authenticate`, { method: 'POST', body: { emailId: 'ci@robots.example', password: 'guessed-password-1' } });
      assert.equal(signIn.status, 401);

      const key = await createKey(['--name', 'deploy', '--user', svc.uid, '--scope', 'apiKeys:read']);
      const info = await http(`${server.url}/v1/users/info`, { headers: { ApiKey: key.apiKey } });
      assert.equal(info.status, 200);
      assert.equal(info.body.userUid, svc.uid);
      const list = await run(['keys', 'list', '--user', svc.uid, ...login], { env });
      assert.equal(list.code, 0, list.stderr);
      assert.deepEqual(rowOf(list.stdout, key.uid).slice(-2), ['apiKeys:read', 'any']);
    });

    it('usage errors: one line, exit 2, nothing sent or stored', async () => {
      const cases: [string[], RegExp][] = [
        [['user', 'create', '--service', '--tenant', 'default', '--email', 'pw@robots.example', '--password', 'some-password-1'], /service account has no password/],
        [['keys', 'create', '--name', 'both', '--read-only', '--scope', 'apiKeys:read', ...login], /--read-only or --scope/],
        [['keys', 'create', '--name', 'blank', '--scope', ',', ...login], /--scope needs a value/],
        [['keys', 'create', '--name', 'blank', '--allow-cidr', '', ...login], /--allow-cidr needs a value/],
        [['scopes', 'set', 'orders:write', ...login], /--description is required/],
        [['scopes', 'delete', ...login], /needs the scope's name/],
        [['scopes', 'delete', '..', ...login], /not a scope name/],
        [['scopes', 'frob', ...login], /unknown scopes command/],
        [['keys', 'create', '--name', 'x', '--scope'], /--scope/],
      ];
      for (const [args, message] of cases) {
        const r = await run(args, { env });
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr.split('\n')[0], message);
        assert.equal(r.stdout, '');
      }
      const users = (await http(`${server.url}/v1/users`, { headers: { Authorization: adminToken } })).body.items.map((u: any) => u.spec.emailId);
      assert.ok(!users.includes('pw@robots.example'));
      const keys = (await http(`${server.url}/v1/apiKeys`, { headers: { Authorization: adminToken } })).body.items.map((k: any) => k.metadata.name);
      assert.ok(!keys.includes('both') && !keys.includes('blank'));
      // A scope name the server refuses is its one-line message, exit 1.
      const bad = await run(['scopes', 'set', 'no colon', '--description', 'x', ...login], { env });
      assert.equal(bad.code, 1);
      assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
      const badCidr = await run(['keys', 'create', '--name', 'host-bits', '--allow-cidr', '10.1.2.3/8', ...login], { env });
      assert.equal(badCidr.code, 1);
      assert.match(badCidr.stderr, /10\.0\.0\.0\/8/, 'says which network was probably meant');
    });
  });
}

describe('keyward CLI scopes against a hostile server', () => {
  it('prints scope names, descriptions and key scopes escaped', async () => {
    const evil = 'x\u001b[2J\u001b]8;;http://evil.example\u0007click\u202E\nline';
    const fake = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url?.startsWith('/v1/scopes')) return res.end(JSON.stringify({ items: [{ name: `s:${evil}`, description: evil, builtIn: false }] }));
      const key = { metadata: { uid: 'u1', name: 'k' }, spec: { expiry: 'e', user: { firstName: 'a', lastName: 'b' }, scopes: [`s:${evil}`], allowedCidrs: [evil] }, status: { isActive: true } };
      res.end(JSON.stringify({ items: [key], listmeta: {} }));
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
      const raw = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\p{Cf}\u2028\u2029]/u;
      for (const args of [['scopes', 'list'], ['keys', 'list']]) {
        const r = await run([...args, '--url', url, '--api-key', 'kw_x']);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout.trimEnd().split('\n').length, 2, r.stdout);
        assert.doesNotMatch(r.stdout.trimEnd(), raw);
        assert.match(r.stdout, /x\\u001b\[2J/);
        const json = await run([...args, '--json', '--url', url, '--api-key', 'kw_x']);
        assert.doesNotMatch(json.stdout.replace(/\n/g, ''), raw);
      }
    } finally {
      fake.close();
    }
  });
});
