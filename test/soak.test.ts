/**
 * A bounded soak: mixed verifications (good and wrong keys), reads and writes at high concurrency against a real
 * server process, with zero failed requests and memory that does not keep growing.
 * KEYWARD_SOAK_SECONDS sets its length (default 120 seconds per database; figures in BENCHMARKS.md).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { newApiKey } from '../src/domain/apiKeyFormat.js';
import { databases } from './helpers/databases.js';
import { http, startServer } from './helpers/server.js';

const SECONDS = Number(process.env.KEYWARD_SOAK_SECONDS ?? 120);
const rssMb = (pid: number) => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)![1]) / 1024;

for (const factory of databases()) {
  describe(`soak [${factory.name}]`, () => {
    it(`${SECONDS} s of mixed traffic: no failed request, flat memory`, async () => {
      const db = await factory.create();
      const dir = mkdtempSync(join(tmpdir(), 'keyward-soak-'));
      const server = await startServer({ cwd: dir, env: { KEYWARD_DATABASE_URL: db.url, KEYWARD_SECRET: 'soak-test-secret-012345678', KEYWARD_ADMIN_PASSWORD: 'keeper-password-1', KEYWARD_LOG_LEVEL: 'warn' } });
      try {
        const token = (await http(`${server.url}/v1/auth/authenticate?setCookie=false`, { method: 'POST', body: { emailId: 'admin@keyward.local', password: 'keeper-password-1' } })).body.Authorization;
        const auth = { Authorization: token };
        const expiry = () => new Date(Date.now() + 86_400_000).toISOString();
        const keys: { apiKey: string; uid: string }[] = [];
        for (let i = 0; i < 50; i++) keys.push((await http(`${server.url}/v1/apiKeys`, { method: 'POST', headers: auth, body: { metadata: { name: `soak-${i}` }, spec: { expiry: expiry() } } })).body);

        const counts = { requests: 0, failed: 0 };
        const failures: string[] = [];
        const expect = (what: string, status: number, ok: number[]) => {
          counts.requests++;
          if (!ok.includes(status)) {
            counts.failed++;
            if (failures.length < 5) failures.push(`${what}: ${status}`);
          }
        };
        const end = Date.now() + SECONDS * 1000;
        const samples: number[] = [];
        const sampler = setInterval(() => samples.push(rssMb(server.proc.pid!)), 1000);
        let seq = 0;
        const worker = async (w: number) => {
          while (Date.now() < end) {
            const roll = Math.random();
            if (roll < 0.7) {
              const key = keys[Math.floor(Math.random() * keys.length)];
              expect('verify', (await http(`${server.url}/v1/users/info`, { headers: { ApiKey: key.apiKey } })).status, [200]);
            } else if (roll < 0.75) {
              // A wrong key: refused, and counted against the address in the database.
              expect('wrong key refused', (await http(`${server.url}/v1/users/info`, { headers: { ApiKey: newApiKey('guess').key } })).status, [401]);
            } else if (roll < 0.85) {
              expect('list', (await http(`${server.url}/v1/apiKeys?limit=20`, { headers: auth })).status, [200]);
            } else {
              // A worker's own short-lived key: create, revoke, re-activate, delete.
              const made = await http(`${server.url}/v1/apiKeys`, { method: 'POST', headers: auth, body: { metadata: { name: `soak-w${w}-${seq++}` }, spec: { expiry: expiry() } } });
              expect('create', made.status, [201]);
              if (made.status !== 201) continue;
              const path = `${server.url}/v1/apiKeys/${made.body.uid}`;
              expect('revoke', (await http(path, { method: 'PATCH', headers: auth, body: { isActive: false } })).status, [204]);
              expect('revoked key refused', (await http(`${server.url}/v1/users/info`, { headers: { ApiKey: made.body.apiKey } })).status, [401]);
              expect('activate', (await http(path, { method: 'PATCH', headers: auth, body: { isActive: true } })).status, [204]);
              expect('delete', (await http(path, { method: 'DELETE', headers: auth })).status, [204]);
            }
          }
        };
        await Promise.all(Array.from({ length: 32 }, (_, w) => worker(w)));
        clearInterval(sampler);
        assert.equal(counts.failed, 0, `failed requests: ${failures.join('; ')}`);
        assert.ok(counts.requests > SECONDS * 50, `enough traffic (${counts.requests} requests)`);
        // Flat memory: the last third of the run is not far above the middle third.
        const third = Math.floor(samples.length / 3);
        const middle = Math.max(...samples.slice(third, 2 * third));
        const last = Math.max(...samples.slice(2 * third));
        assert.ok(last < middle * 1.25 + 20, `RSS kept growing: ${middle.toFixed(0)} MB, then ${last.toFixed(0)} MB`);
        console.log(`soak [${factory.name}]: ${counts.requests} requests in ${SECONDS} s, 0 failed, RSS ${samples[0]?.toFixed(0)} → ${middle.toFixed(0)} → ${last.toFixed(0)} MB`);
      } finally {
        await server.stop();
        await db.drop();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
