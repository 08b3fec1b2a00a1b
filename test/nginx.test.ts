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

/** The README's nginx example, with this test's ports and paths. */
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
    location = /_keyward_auth {
      internal;
      proxy_pass ${opts.keyward}/v1/auth/check;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header ApiKey $http_apikey;
      # With KEYWARD_TRUST_PROXY=true, each client has its own guessing budget.
      proxy_set_header X-Forwarded-For $remote_addr;
    }

    location / {
      auth_request /_keyward_auth;
      # Hand the key's owner to the upstream, and keep the key itself from it.
      auth_request_set $keyward_user $upstream_http_x_keyward_user;
      auth_request_set $keyward_tenant $upstream_http_x_keyward_tenant;
      proxy_set_header X-Keyward-User $keyward_user;
      proxy_set_header X-Keyward-Tenant $keyward_tenant;
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

describe('nginx auth_request in front of an upstream', { skip: !NGINX && 'nginx not installed: apt-get install nginx-light' }, () => {
  let keyward: ServerProcess;
  let upstream: Server;
  let nginx: ChildProcess;
  let dir: string;
  let front: string;
  let token: string;
  const seen: { user?: string; apiKey?: string }[] = [];

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
      seen.push({ user: req.headers['x-keyward-user'] as string, apiKey: req.headers.apikey as string });
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
    for (let i = 0; i < GUESSES; i++) assert.equal(await getFrom('127.0.0.2', `${front}/orders`, { ApiKey: `kw_guess${i}` }), 401);
    assert.equal(await getFrom('127.0.0.2', `${front}/orders`, { ApiKey: 'kw_guess_more' }), 401, 'past its budget, a guess is still a 401');
    const check = await http(`${keyward.url}/v1/auth/check`, { headers: { ApiKey: 'kw_guess_more', 'X-Forwarded-For': '127.0.0.2' } });
    assert.equal(check.body.details.reason, 'TooManyRequests', 'Keyward holds the client past its budget');
    assert.equal(await getFrom('127.0.0.2', `${front}/orders`, { ApiKey: apiKey }), 200, 'a valid key from the guessing address still gets through');
    assert.equal(await getFrom('127.0.0.3', `${front}/orders`, { ApiKey: apiKey }), 200, 'and from another client');
  });
});
