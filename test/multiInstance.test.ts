/**
 * Several server processes on one PostgreSQL database: a revoke, a delete, a user deletion or
 * an expiry change on one instance must hold on every other within 1 second, even with warm
 * caches, and even while the key-change channel is being cut or has silently stalled.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { LISTENER_APPLICATION_NAME as KEY_EVENTS_APPLICATION_NAME } from '../src/store/notificationListener.js';
import { createPostgres, databases, type TestDatabase } from './helpers/databases.js';
import { http, type ServerProcess, startServer } from './helpers/server.js';

const hasPostgres = databases().some((d) => d.name === 'postgres');
const HOLD_MS = 1000;

describe('revocation across instances [postgres]', { skip: !hasPostgres && 'PostgreSQL not available' }, () => {
  let db: TestDatabase;
  let a: ServerProcess;
  let b: ServerProcess;
  let c: ServerProcess;
  let token: string;
  const env = () => ({ KEYWARD_DATABASE_URL: db.url, KEYWARD_SECRET: 'multi-instance-secret-0123', KEYWARD_ADMIN_PASSWORD: 'keeper-password-1' });

  before(async () => {
    db = await createPostgres();
    a = await startServer({ env: env() });
    [b, c] = await Promise.all([startServer({ env: env() }), startServer({ env: env() })]);
    const signIn = await http(`${a.url}/v1/auth/authenticate`, { method: 'POST', body: { emailId: 'admin@keyward.local', password: 'keeper-password-1' } });
    token = signIn.body.Authorization;
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop(), c?.stop()]);
    await db?.drop();
  });

  const auth = () => ({ Authorization: token });
  const status = async (server: ServerProcess, key: string) => (await http(`${server.url}/v1/users/info`, { headers: { ApiKey: key } })).status;
  let seq = 0;
  const newKey = async (opts: { userUid?: string; days?: number } = {}) => {
    const res = await http(`${a.url}/v1/apiKeys`, {
      method: 'POST',
      headers: auth(),
      body: { metadata: { name: `k${++seq}` }, spec: { expiry: new Date(Date.now() + (opts.days ?? 1) * 86_400_000).toISOString(), userUid: opts.userUid } },
    });
    assert.equal(res.status, 201);
    return res.body as { apiKey: string; uid: string };
  };
  /** Warms every instance's cache with the key. */
  const warm = async (key: string) => {
    for (const server of [a, b, c]) for (let i = 0; i < 3; i++) assert.equal(await status(server, key), 200);
  };
  /** Polls until every other instance refuses the key; fails if any still accepts it after HOLD_MS. */
  const refusedEverywhere = async (key: string, expected = 401) => {
    const start = performance.now();
    for (const server of [b, c]) {
      for (;;) {
        const s = await status(server, key);
        if (s === expected) break;
        assert.ok(performance.now() - start < HOLD_MS, `${server.url} still answers ${s} after ${HOLD_MS} ms`);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  };

  it('a revoke on A is refused by B and C; a re-activation on A is honoured by them', async () => {
    const key = await newKey();
    await warm(key.apiKey);
    const res = await http(`${a.url}/v1/apiKeys/${key.uid}`, { method: 'PATCH', headers: auth(), body: { isActive: false } });
    assert.equal(res.status, 204);
    assert.equal(await status(a, key.apiKey), 401, 'refused at once on the instance that answered');
    await refusedEverywhere(key.apiKey);
    assert.equal((await http(`${b.url}/v1/apiKeys/${key.uid}/state`, { method: 'PUT', headers: auth(), body: { isActive: true } })).status, 204);
    for (const server of [a, c]) {
      const start = performance.now();
      while ((await status(server, key.apiKey)) !== 200) {
        assert.ok(performance.now() - start < HOLD_MS, 're-activation reaches every instance');
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  });

  it('a delete on A is refused by B and C', async () => {
    const key = await newKey();
    await warm(key.apiKey);
    assert.equal((await http(`${a.url}/v1/apiKeys/${key.uid}`, { method: 'DELETE', headers: auth() })).status, 204);
    await refusedEverywhere(key.apiKey);
  });

  it("deleting a user on A makes B and C refuse all of that user's keys", async () => {
    const created = await http(`${a.url}/v1/users`, { method: 'POST', headers: auth(), body: { spec: { emailId: `gone${Date.now()}@example.com` } } });
    const userUid = created.body.uid;
    const keys = [await newKey({ userUid }), await newKey({ userUid })];
    for (const k of keys) await warm(k.apiKey);
    assert.equal((await http(`${a.url}/v1/users/${userUid}`, { method: 'DELETE', headers: auth() })).status, 204);
    for (const k of keys) await refusedEverywhere(k.apiKey);
  });

  it('an expiry brought forward on A is honoured by B and C when it passes', async () => {
    const key = await newKey({ days: 30 });
    await warm(key.apiKey);
    // Far enough ahead for the PUT to land on a slow machine; then wait until it has surely passed.
    const expiresAt = Date.now() + 3000;
    const expiry = new Date(expiresAt).toISOString();
    assert.equal((await http(`${a.url}/v1/apiKeys/${key.uid}`, { method: 'PUT', headers: auth(), body: { spec: { expiry } } })).status, 204);
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now()) + 200));
    const res = await http(`${b.url}/v1/users/info`, { headers: { ApiKey: key.apiKey } });
    assert.equal(res.status, 401);
    assert.equal(res.body.code, 'ApiKeyExpired');
    await refusedEverywhere(key.apiKey);
  });

  it('a scope narrowed on A, and an allowlist added on A, hold on B and C within 1 second', async () => {
    const key = await newKey();
    const list = async (server: ServerProcess) => (await http(`${server.url}/v1/apiKeys`, { headers: { ApiKey: key.apiKey } })).status;
    for (const server of [a, b, c]) for (let i = 0; i < 3; i++) assert.equal(await list(server), 200);
    const narrowed = await http(`${a.url}/v1/apiKeys/${key.uid}`, { method: 'PUT', headers: auth(), body: { spec: { scopes: ['users:read'] } } });
    assert.equal(narrowed.status, 204);
    assert.equal(await list(a), 403, 'refused at once on the instance that answered');
    const start = performance.now();
    for (const server of [b, c]) {
      for (;;) {
        const s = await list(server);
        if (s === 403) break;
        assert.ok(performance.now() - start < HOLD_MS, `${server.url} still answers ${s} after ${HOLD_MS} ms`);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    // The key still works where its scopes allow; then an allowlist that excludes these clients.
    await warm(key.apiKey);
    assert.equal((await http(`${a.url}/v1/apiKeys/${key.uid}`, { method: 'PUT', headers: auth(), body: { spec: { allowedCidrs: ['203.0.113.0/24'] } } })).status, 204);
    assert.equal(await status(a, key.apiKey), 403);
    await refusedEverywhere(key.apiKey, 403);
  });

  it('with the key-change channel being cut again and again, revocations still hold within 1 second', async () => {
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    let cutting = true;
    let cuts = 0;
    const cutter = (async () => {
      while (cutting) {
        const r = await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1 and datname = current_database()', [KEY_EVENTS_APPLICATION_NAME]);
        cuts += r.rowCount ?? 0;
        await new Promise((res) => setTimeout(res, 30));
      }
    })();
    try {
      for (let i = 0; i < 5; i++) {
        const key = await newKey();
        await warm(key.apiKey);
        assert.equal((await http(`${a.url}/v1/apiKeys/${key.uid}`, { method: 'PATCH', headers: auth(), body: {} })).status, 204);
        await refusedEverywhere(key.apiKey);
      }
    } finally {
      cutting = false;
      await cutter;
      await admin.end();
    }
    assert.ok(cuts > 0, 'the channel was cut');
    // Once the channel is back, the instances serve and revoke as before.
    await new Promise((r) => setTimeout(r, 500));
    const key = await newKey();
    await warm(key.apiKey);
    await http(`${a.url}/v1/apiKeys/${key.uid}`, { method: 'PATCH', headers: auth(), body: {} });
    await refusedEverywhere(key.apiKey);
  });

  it('with the channel silently stalled (its PostgreSQL backend stopped), B stops trusting its cache', { skip: process.getuid?.() !== 0 && 'needs root to stop a PostgreSQL backend' }, async () => {
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    const key = await newKey();
    await warm(key.apiKey);
    // Freeze B's and C's listener backends: no FIN, no answers, as with a cut network.
    const { rows } = await admin.query('select pid from pg_stat_activity where application_name = $1 and datname = current_database()', [KEY_EVENTS_APPLICATION_NAME]);
    assert.equal(rows.length, 3, 'one key-change listener per instance');
    const pids = rows.map((r) => String(r.pid));
    execFileSync('kill', ['-STOP', ...pids]);
    try {
      assert.equal((await http(`${a.url}/v1/apiKeys/${key.uid}`, { method: 'PATCH', headers: auth(), body: { isActive: false } })).status, 204);
      await refusedEverywhere(key.apiKey);
    } finally {
      execFileSync('kill', ['-CONT', ...pids]);
      await admin.end();
    }
  });
});
