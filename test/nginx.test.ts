/**
 * Forward authentication with a real nginx (Debian's, auth_request module) in front of a small
 * upstream: a valid key reaches the upstream with its owner in a header; once the key is
 * revoked, nginx turns the next request away. The nginx configuration is the README's.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { http, type ServerProcess, startServer } from './helpers/server.js';
import { waitFor } from './helpers/timers.js';

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
const ci = process.env.CI === 'true' || process.env.CI === '1';
if (!NGINX && ci) throw new Error('nginx is required in CI (apt-get install nginx-light)');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/**
 * The README's nginx example, with this test's ports and paths: every request is checked by
 * Keyward (the key, its allowed addresses, the tenant's route rules on the original method and
 * URI), a location may require scopes of its own, and a refusal reaches the client as a JSON
 * body naming the reason.
 */
function nginxConfig(opts: { dir: string; port: number; keyward: string; upstream: string }): string {
  const { dir } = opts;
  return `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${opts.port};

    # Every request is checked by Keyward first; only a 2xx lets it through.
    auth_request /_keyward_auth;
    # Hand the key's owner and scopes to the upstream; keep the reason of a refusal for the client.
    auth_request_set $keyward_user $upstream_http_x_keyward_user;
    auth_request_set $keyward_tenant $upstream_http_x_keyward_tenant;
    auth_request_set $keyward_scopes $upstream_http_x_keyward_scopes;
    auth_request_set $keyward_reason $upstream_http_x_keyward_reason;
    error_page 403 = @keyward_forbidden;

    location = /_keyward_auth {
      internal;
      auth_request off;
      proxy_pass ${opts.keyward}/v1/auth/check?require=$keyward_require;
      # Only what is set here reaches Keyward: a client cannot send its own X-Original-URI.
      proxy_pass_request_headers off;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header ApiKey $http_apikey;
      # The request as the client sent it: Keyward normalises the path itself.
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Original-URI $request_uri;
      # Method overrides the upstream may honour (a POST run as a DELETE): the rules check them too.
      # An empty value is not sent, so requests without one are not changed.
      proxy_set_header X-HTTP-Method-Override $http_x_http_method_override;
      proxy_set_header X-HTTP-Method $http_x_http_method;
      proxy_set_header X-Method-Override $http_x_method_override;
      # With KEYWARD_TRUST_PROXY=true: the client's address, for allowlists and guessing budgets.
      proxy_set_header X-Forwarded-For $remote_addr;
    }

    # A refusal, as JSON naming why (insufficient_scope, address_not_allowed, route_denied, invalid_path).
    location @keyward_forbidden {
      auth_request off;
      default_type application/json;
      add_header X-Keyward-Reason $keyward_reason always;
      return 403 '{"code":"Forbidden","reason":"$keyward_reason"}\\n';
    }

    # Each location says what it requires on top of the tenant's route rules, URL-encoded ("" = a
    # valid key). Set here, not at server level: the check's subrequest runs the server's "set" again.
    location / {
      set $keyward_require "";
      proxy_set_header X-Keyward-User $keyward_user;
      proxy_set_header X-Keyward-Tenant $keyward_tenant;
      proxy_set_header X-Keyward-Scopes $keyward_scopes;
      proxy_set_header ApiKey "";
      proxy_pass ${opts.upstream};
    }

    # This location needs orders:read whatever the tenant's rules say (AND would be "orders:read%20AND%20orders:write").
    location /orders/ {
      set $keyward_require "orders:read";
      proxy_set_header X-Keyward-User $keyward_user;
      proxy_set_header X-Keyward-Tenant $keyward_tenant;
      proxy_set_header X-Keyward-Scopes $keyward_scopes;
      proxy_set_header ApiKey "";
      proxy_pass ${opts.upstream};
    }
  }
}
`;
}

const GUESSES = 5;

/** GET through nginx from a loopback address of our choosing, as a distinct client. */
function getFrom(localAddress: string, url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { localAddress, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * A request through nginx with the path exactly as given (fetch would resolve dots and encode
 * backslashes first), from a loopback address of our choosing: status, headers and body.
 */
function raw(front: string, path: string, opts: { method?: string; headers?: Record<string, string>; from?: string } = {}) {
  const { hostname, port } = new URL(front);
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: opts.method ?? 'GET', headers: opts.headers, localAddress: opts.from ?? '127.0.0.1' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('nginx auth_request in front of an upstream', { skip: !NGINX && 'nginx not installed: apt-get install nginx-light' }, () => {
  let keyward: ServerProcess;
  let upstream: Server;
  let nginx: ChildProcess;
  let dir: string;
  let front: string;
  let token: string;
  const seen: { user?: string; apiKey?: string; scopes?: string; url?: string }[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyward-nginx-'));
    mkdirSync(join(dir, 'data'));
    keyward = await startServer({ cwd: dir, env: {
        KEYWARD_DATABASE_URL: '',
        KEYWARD_SECRET: 'nginx-test-secret-012345',
        KEYWARD_ADMIN_PASSWORD: 'keeper-password-1',
        KEYWARD_TRUST_PROXY: 'true',
        KEYWARD_AUTH_FAILURES_PER_MINUTE: String(GUESSES),
      }, });
    upstream = createServer((req, res) => {
      seen.push({ user: req.headers['x-keyward-user'] as string, apiKey: req.headers.apikey as string, scopes: req.headers['x-keyward-scopes'] as string, url: req.url });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ hello: req.headers['x-keyward-user'] }));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    const port = await freePort();
    front = `http://127.0.0.1:${port}`;
    const conf = join(dir, 'nginx.conf');
    writeFileSync(conf, nginxConfig({ dir, port, keyward: keyward.url, upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` }));
    nginx = spawn(NGINX!, ['-c', conf, '-p', dir, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
    for (let i = 0; i < 100; i++) {
      try {
        await fetch(front);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    token = (await http(`${keyward.url}/v1/auth/authenticate`, { method: 'POST', body: { emailId: 'admin@keyward.local', password: 'keeper-password-1' } })).body.Authorization;
  });

  after(async () => {
    nginx?.kill('SIGQUIT');
    upstream?.close();
    await keyward?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets a valid key through with its owner, and turns it away once revoked', async () => {
    const created = await http(`${keyward.url}/v1/apiKeys`, {
      method: 'POST',
      headers: { Authorization: token },
      body: { metadata: { name: 'behind-nginx' }, spec: { expiry: new Date(Date.now() + 86_400_000).toISOString() } },
    });
    const { apiKey, uid } = created.body;
    const info = await http(`${keyward.url}/v1/users/info`, { headers: { ApiKey: apiKey } });

    const ok = await fetch(`${front}/orders`, { headers: { ApiKey: apiKey } });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { hello: info.body.userUid });
    assert.equal(seen.at(-1)?.apiKey, undefined, 'the upstream never sees the key');

    assert.equal((await fetch(`${front}/orders`)).status, 401, 'no key, no entry');
    assert.equal((await fetch(`${front}/orders`, { headers: { ApiKey: 'kw_forged' } })).status, 401);

    const before = seen.length;
    assert.equal((await http(`${keyward.url}/v1/apiKeys/${uid}`, { method: 'PATCH', headers: { Authorization: token }, body: { isActive: false } })).status, 204);
    assert.equal((await fetch(`${front}/orders`, { headers: { ApiKey: apiKey } })).status, 401, 'the next request after the revoke is refused');
    assert.equal(seen.length, before, 'and never reaches the upstream');

    await http(`${keyward.url}/v1/apiKeys/${uid}`, { method: 'PATCH', headers: { Authorization: token }, body: { isActive: true } });
    assert.equal((await fetch(`${front}/orders`, { headers: { ApiKey: apiKey } })).status, 200);
  });

  it('a client guessing keys through nginx is turned away with 401 (not a 500), while valid keys, its own included, get through', async () => {
    const created = await http(`${keyward.url}/v1/apiKeys`, {
      method: 'POST',
      headers: { Authorization: token },
      body: { metadata: { name: 'guessed-at' }, spec: { expiry: new Date(Date.now() + 86_400_000).toISOString() } },
    });
    const { apiKey } = created.body;
    for (let i = 0; i < GUESSES; i++) assert.equal(await getFrom('127.0.0.2', `${front}/orders/1`, { ApiKey: `kw_guess${i}` }), 401);
    assert.equal(await getFrom('127.0.0.2', `${front}/orders/1`, { ApiKey: 'kw_guess_more' }), 401, 'past its budget, a guess is still a 401');
    const check = await http(`${keyward.url}/v1/auth/check`, { headers: { ApiKey: 'kw_guess_more', 'X-Forwarded-For': '127.0.0.2' } });
    assert.equal(check.body.details.reason, 'TooManyRequests', 'Keyward holds the client past its budget');
    assert.equal(await getFrom('127.0.0.2', `${front}/orders/1`, { ApiKey: apiKey }), 200, 'a valid key from the guessing address still gets through');
    assert.equal(await getFrom('127.0.0.3', `${front}/orders/1`, { ApiKey: apiKey }), 200, 'and from another client');
  });
  /** Makes the tenant scopes (once) and a key holding `scopes`, limited to `allowedCidrs` when given. */
  let catalogued = false;
  const scopedKey = async (scopes: string[], allowedCidrs?: string[]) => {
    if (!catalogued) {
      for (const name of ['orders:read', 'orders:write', 'admin:all', 'reports:read']) {
        const res = await http(`${keyward.url}/v1/scopes/${name}`, { method: 'PUT', headers: { Authorization: token }, body: { description: name } });
        assert.ok(res.status < 300, JSON.stringify(res.body));
      }
      catalogued = true;
    }
    const res = await http(`${keyward.url}/v1/apiKeys`, {
      method: 'POST',
      headers: { Authorization: token },
      body: { metadata: { name: `scoped-${Math.random().toString(36).slice(2, 8)}` }, spec: { expiry: new Date(Date.now() + 86_400_000).toISOString(), scopes, allowedCidrs } },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { apiKey: string; uid: string };
  };
  const rules = async (body: unknown) => assert.equal((await http(`${keyward.url}/v1/authRoutes`, { method: 'PUT', headers: { Authorization: token }, body })).status, 200);
  /** What a client of nginx sees for a refusal: 403, the reason in a header and in the JSON body, and nothing upstream. */
  const refusedWith = async (path: string, apiKey: string, reason: string, opts: { method?: string; from?: string; headers?: Record<string, string> } = {}) => {
    const before = seen.length;
    const res = await raw(front, path, { ...opts, headers: { ApiKey: apiKey, ...opts.headers } });
    assert.equal(res.status, 403, `${path}: ${res.status} ${res.body}`);
    assert.equal(res.headers['x-keyward-reason'], reason, path);
    assert.deepEqual(JSON.parse(res.body), { code: 'Forbidden', reason }, path);
    assert.equal(seen.length, before, `${path} reached the upstream`);
  };

  it('a location\'s own require: a key with the scope reaches the upstream (its scopes handed on), one without gets 403 insufficient_scope', async () => {
    await rules({ mode: 'enforce', default: 'allow', rules: [] });
    const reader = await scopedKey(['orders:read']);
    const other = await scopedKey(['reports:read']);
    const ok = await raw(front, '/orders/42', { headers: { ApiKey: reader.apiKey } });
    assert.equal(ok.status, 200, ok.body);
    assert.equal(seen.at(-1)?.scopes, 'orders:read');
    assert.equal(seen.at(-1)?.url, '/orders/42');
    await refusedWith('/orders/42', other.apiKey, 'insufficient_scope');
    // Elsewhere no location requires anything: any valid key.
    assert.equal((await raw(front, '/reports', { headers: { ApiKey: other.apiKey } })).status, 200);
    assert.equal((await raw(front, '/orders/42')).status, 401, 'no key, no entry');
  });

  it("a key limited to addresses is checked against the client's address that nginx passes, which the client cannot forge", async () => {
    const k = await scopedKey(['orders:read'], ['127.0.0.5/32']);
    assert.equal((await raw(front, '/orders/1', { headers: { ApiKey: k.apiKey }, from: '127.0.0.5' })).status, 200);
    await refusedWith('/orders/1', k.apiKey, 'address_not_allowed', { from: '127.0.0.6' });
    await refusedWith('/orders/1', k.apiKey, 'address_not_allowed', { from: '127.0.0.6', headers: { 'X-Forwarded-For': '127.0.0.5', 'X-Real-IP': '127.0.0.5' } });
  });

  it('route rules: default deny refuses unlisted paths (route_denied), a rule asks for its scopes; the client cannot send its own X-Original-URI', async () => {
    await rules({
      mode: 'enforce',
      default: 'deny',
      rules: [
        { methods: ['GET'], path: '/orders/**', require: '' },
        { methods: ['DELETE'], path: '/orders/**', require: 'orders:write' },
        { methods: ['*'], path: '/public/**', require: '' },
      ],
    });
    try {
      const reader = await scopedKey(['orders:read']);
      const writer = await scopedKey(['orders:read', 'orders:write']);
      assert.equal((await raw(front, '/public/logo', { headers: { ApiKey: reader.apiKey } })).status, 200);
      await refusedWith('/elsewhere', reader.apiKey, 'route_denied');
      await refusedWith('/orders/7', reader.apiKey, 'insufficient_scope', { method: 'DELETE' });
      assert.equal((await raw(front, '/orders/7', { method: 'DELETE', headers: { ApiKey: writer.apiKey } })).status, 200);
      await refusedWith('/elsewhere', reader.apiKey, 'route_denied', { headers: { 'X-Original-URI': '/public/x', 'X-Original-Method': 'GET' } });
    } finally {
      await rules({ mode: 'enforce', default: 'allow', rules: [] });
    }
  });

  it('hostile spellings of a protected path are refused before the upstream, whatever nginx makes of them', async () => {
    await rules({ mode: 'enforce', default: 'allow', rules: [{ methods: ['*'], path: '/admin/**', require: 'admin:all' }] });
    try {
      const reader = await scopedKey(['orders:read']);
      const admin = await scopedKey(['admin:all']);
      const hostile: [string, string][] = [
        ['/admin', 'insufficient_scope'],
        ['/ADMIN/users', 'insufficient_scope'],
        ['//admin', 'insufficient_scope'],
        ['/public/../admin/x', 'insufficient_scope'],
        ['/./admin', 'insufficient_scope'],
        ['/%61dmin', 'insufficient_scope'],
        ['/admin/?debug=1', 'insufficient_scope'],
        ['/public/%2e%2e/admin', 'insufficient_scope'],
        ['/public/..%2Fadmin', 'invalid_path'],
        ['/public%2F..%2Fadmin', 'invalid_path'],
        ['/%2561dmin', 'invalid_path'],
        ['/public\\..\\admin', 'invalid_path'],
        ['/%5cadmin', 'invalid_path'],
        ['/public/%c0%ae%c0%ae/admin', 'invalid_path'],
        ['/admin;x=1', 'invalid_path'],
      ];
      for (const [path, reason] of hostile) await refusedWith(path, reader.apiKey, reason);
      // nginx itself refuses a path above the root; either way nothing reaches the upstream.
      const before = seen.length;
      const above = await raw(front, '/../admin', { headers: { ApiKey: reader.apiKey } });
      assert.notEqual(above.status, 200);
      assert.equal(seen.length, before);
      // The same spellings that resolve cleanly let the admin's key through.
      for (const path of ['/ADMIN/users', '//admin', '/public/../admin/x', '/%61dmin']) {
        assert.equal((await raw(front, path, { headers: { ApiKey: admin.apiKey } })).status, 200, path);
      }
    } finally {
      await rules({ mode: 'enforce', default: 'allow', rules: [] });
    }
  });

  it('the raw-URI ".." bypass: nginx resolves /admin/x/../../public/y for itself but forwards it raw, and the rules read it both ways', async () => {
    await rules({
      mode: 'enforce',
      default: 'allow',
      rules: [
        { methods: ['*'], path: '/public/**', require: '' },
        { methods: ['*'], path: '/admin/**', require: 'admin:all' },
        { methods: ['DELETE'], path: '/things/**', require: 'orders:write' },
      ],
    });
    try {
      const reader = await scopedKey(['orders:read']);
      const admin = await scopedKey(['admin:all']);
      assert.equal((await raw(front, '/public/y', { headers: { ApiKey: reader.apiKey } })).status, 200);
      await refusedWith('/admin/x/../../public/y', reader.apiKey, 'insufficient_scope');
      await refusedWith('/admin/x/%2e%2e/%2e%2e/public/y', reader.apiKey, 'insufficient_scope');
      await refusedWith('/public//../admin', reader.apiKey, 'insufficient_scope');
      // What the upstream is sent is the raw URI: a router taking ".." as a name serves it under /admin.
      const through = await raw(front, '/admin/x/../../public/y', { headers: { ApiKey: admin.apiKey } });
      assert.equal(through.status, 200, through.body);
      assert.equal(seen.at(-1)?.url, '/admin/x/../../public/y');
      // A POST that the upstream would run as a DELETE meets the DELETE rule.
      assert.equal((await raw(front, '/things/1', { method: 'POST', headers: { ApiKey: reader.apiKey } })).status, 200);
      await refusedWith('/things/1', reader.apiKey, 'insufficient_scope', { method: 'POST', headers: { 'X-HTTP-Method-Override': 'DELETE' } });
      await refusedWith('/things/1?_method=DELETE', reader.apiKey, 'insufficient_scope', { method: 'POST' });
    } finally {
      await rules({ mode: 'enforce', default: 'allow', rules: [] });
    }
  });

  it('audit mode lets a refusal through and says so in the log', async () => {
    await rules({ mode: 'audit', default: 'deny', rules: [] });
    try {
      const k = await scopedKey(['reports:read']);
      const res = await raw(front, '/audited/path', { headers: { ApiKey: k.apiKey } });
      assert.equal(res.status, 200, res.body);
      const line = () => keyward.stdout().split('\n').find((l) => l.includes('authRoute.refusalObserved') && l.includes(k.uid));
      await waitFor(() => line() !== undefined, 'a warning naming the key and the refusal');
      const logged = line()!;
      assert.equal(JSON.parse(logged).reason, 'route_denied');
      assert.equal(JSON.parse(logged).level, 40);
      assert.ok(!logged.includes(k.apiKey), 'never the key itself');
    } finally {
      await rules({ mode: 'enforce', default: 'allow', rules: [] });
    }
  });
});
