/**
 * kill -9 in the middle of a stream of concurrent creates, revokes and re-activations: after a
 * restart every acknowledged change is there, nothing half-done is, and a revoked key stays
 * revoked. On SQLite and on PostgreSQL.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { databases } from './helpers/databases.js';
import { http, startServer } from './helpers/server.js';

interface Tracked {
  uid: string;
  apiKey: string;
  /** The state of the last acknowledged change. */
  acked: boolean;
  /** A change was sent and not answered when the server died: either state is allowed. */
  inFlight: boolean;
}

for (const factory of databases()) {
  describe(`crash during writes [${factory.name}]`, () => {
    it('keeps every acknowledged change and nothing half-done', async () => {
      const db = await factory.create();
      const dir = mkdtempSync(join(tmpdir(), 'keyward-crash-'));
      const env = { KEYWARD_DATABASE_URL: db.url, KEYWARD_SECRET: 'crash-test-secret-0123456', KEYWARD_ADMIN_PASSWORD: 'keeper-password-1', KEYWARD_LOG_LEVEL: 'info' };
      const server = await startServer({ cwd: dir, env });
      const token = (await http(`${server.url}/v1/auth/authenticate`, { method: 'POST', body: { emailId: 'admin@keyward.local', password: 'keeper-password-1' } })).body.Authorization;
      const auth = { Authorization: token };
      const keys: Tracked[] = [];
      const createsInFlight = new Set<string>();
      let running = true;
      let seq = 0;
      // The writes are capped, not the time: a faster machine must not write more than the checks
      // below can read back. Below the cap the crash lands mid-stream on any machine seen so far.
      const MAX_WRITES = 400;
      let writes = 0;

      const worker = async () => {
        while (running && writes < MAX_WRITES) {
          writes++;
          const roll = Math.random();
          if (keys.length < 5 || roll < 0.3) {
            const name = `crash-${seq++}`;
            createsInFlight.add(name);
            try {
              const res = await http(`${server.url}/v1/apiKeys`, { method: 'POST', headers: auth, body: { metadata: { name }, spec: { expiry: new Date(Date.now() + 86_400_000).toISOString() } } });
              if (res.status === 201) keys.push({ uid: res.body.uid, apiKey: res.body.apiKey, acked: true, inFlight: false });
              createsInFlight.delete(name);
            } catch {
              return; // the server died: this create may or may not have landed
            }
          } else {
            const key = keys[Math.floor(Math.random() * keys.length)];
            if (key.inFlight) continue;
            const isActive = !key.acked;
            key.inFlight = true;
            try {
              const res = await http(`${server.url}/v1/apiKeys/${key.uid}`, { method: 'PATCH', headers: auth, body: { isActive } });
              if (res.status === 204) key.acked = isActive;
              key.inFlight = false;
            } catch {
              return;
            }
          }
        }
      };

      const workers = Array.from({ length: 8 }, worker);
      // Crash mid-stream: after 1.5 s, or sooner once most of the capped writes are sent.
      for (const start = Date.now(); Date.now() - start < 1500 && writes < MAX_WRITES * 0.75; ) await new Promise((r) => setTimeout(r, 20));
      server.proc.kill('SIGKILL');
      running = false;
      await Promise.all(workers);
      await server.stop();
      assert.ok(keys.length >= 5, `enough traffic before the crash (${keys.length} keys)`);

      const again = await startServer({ cwd: dir, env });
      try {
        const token2 = (await http(`${again.url}/v1/auth/authenticate`, { method: 'POST', body: { emailId: 'admin@keyward.local', password: 'keeper-password-1' } })).body.Authorization;
        const list = (await http(`${again.url}/v1/apiKeys`, { headers: { Authorization: token2 } })).body.items;
        const byUid = new Map(list.map((k: any) => [k.metadata.uid, k]));
        for (const key of keys) {
          const row: any = byUid.get(key.uid);
          assert.ok(row, `acknowledged key ${key.uid} survived`);
          const status = (await http(`${again.url}/v1/users/info`, { headers: { ApiKey: key.apiKey } })).status;
          if (!key.inFlight) {
            assert.equal(row.status.isActive, key.acked, `key ${key.uid} is in its last acknowledged state`);
            assert.equal(status, key.acked ? 200 : 401, 'and authenticates accordingly');
          } else {
            assert.equal(status, row.status.isActive ? 200 : 401);
          }
        }
        // Nothing half-done: every key has its create in the audit log, and its current state is
        // the one its newest state-change entry records.
        const audits: any[] = [];
        for (let cont = ''; ; ) {
          const page = (await http(`${again.url}/v1/audits?limit=500${cont ? `&continue=${cont}` : ''}`, { headers: { Authorization: token2 } })).body;
          audits.push(...page.items);
          cont = page.listmeta?.continue ?? '';
          if (!cont) break;
        }
        for (const k of list) {
          const mine = audits.filter((a: any) => a.spec.resource.uid === k.metadata.uid);
          assert.ok(mine.some((a: any) => a.spec.action === 'apiKey.create'), `key ${k.metadata.name} has its create audited`);
          const change = mine.find((a: any) => (a.spec.action === 'apiKey.revoke' || a.spec.action === 'apiKey.activate') && a.spec.details.changed);
          if (change) assert.equal(k.status.isActive, change.spec.action === 'apiKey.activate', `key ${k.metadata.name}: state matches its audit`);
          else assert.equal(k.status.isActive, true);
        }
        assert.ok(list.length <= keys.length + createsInFlight.size, 'no keys beyond the acknowledged and in-flight creates');
      } finally {
        await again.stop();
        await db.drop();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
