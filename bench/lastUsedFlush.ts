/**
 * What a last-used flush of many keys does to writes made meanwhile: a Keyward app listens on
 * SQLite and on PostgreSQL with `--keys` keys, every key in the pending batch, and while the batch
 * is written a worker thread revokes keys of the batch over HTTP, one at a time, one every
 * `--every` ms. Reports each flush's time and the revokes' latency (measured by the client, so a
 * blocked event loop counts in full), for the flush as it was (one UPDATE per key in one
 * transaction) and as it is.
 *
 *   node --import tsx bench/lastUsedFlush.ts [--keys 100000] [--every 10] [--chunks 250,1000]
 *
 * `--chunks` adds runs of the store's writer at other chunk sizes. Prints a Markdown table; the
 * raw figures follow as JSON in a comment.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { buildApp } from '../src/http/app.js';
import { LastUsedRecorder } from '../src/service/lastUsed.js';
import { createServices } from '../src/service/services.js';
import type { Store as StoreType } from '../src/store/store.js';
import { Store } from '../src/store/store.js';

const { values } = parseArgs({ options: { keys: { type: 'string' }, every: { type: 'string' }, chunks: { type: 'string' } } });
const KEYS = Number(values.keys ?? 100_000);
const EVERY_MS = Number(values.every ?? 10);
const EXTRA_CHUNKS = (values.chunks ?? '').split(',').filter(Boolean).map(Number);
const PG_ADMIN = process.env.KEYWARD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECRET = 'bench-secret-0123456789abcdef';
const ROOT = new URL('..', import.meta.url).pathname;

/** The flush as it was before chunking: one UPDATE per key, all in one transaction. */
async function oneTransaction(store: StoreType, uses: Map<string, number>): Promise<void> {
  await store.connection.db.transaction().execute(async (trx) => {
    for (const [uid, at] of uses) {
      await trx
        .updateTable('api_keys')
        .set({ last_used_at: at })
        .where('uid', '=', uid)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)]))
        .execute();
    }
  });
}

/**
 * The revoking client, on its own thread so that it keeps time while the server's event loop is
 * busy. One revoke at a time, as an admin would: the next is sent 10 ms after the previous one was,
 * or as soon as it answers if it took longer. (Open loop, revokes would queue behind each other:
 * each commits with an fsync, and on a small machine 100 a second is more than that allows.)
 */
const CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, token, uids, every } = workerData;
const now = () => performance.timeOrigin + performance.now();
let next = 0, running;
parentPort.on('message', async (m) => {
  if (m.start) {
    let stopped = false;
    const samples = [];
    running = (async () => {
      while (!stopped) {
        const at = now();
        const res = await fetch(url + '/v1/apiKeys/' + uids[next++], { method: 'PATCH', headers: { Authorization: token, 'content-type': 'application/json' }, body: '{"isActive":false}' });
        await res.arrayBuffer();
        if (res.status !== 204) throw new Error('revoke answered ' + res.status);
        samples.push({ at, ms: now() - at });
        const wait = at + every - now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      return samples;
    })();
    running.stop = () => { stopped = true; };
  } else if (m.stop) {
    running.stop();
    const samples = await running;
    parentPort.postMessage(samples.filter((d) => d.at <= m.stop).map((d) => d.ms));
  }
});
`;

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

interface Run {
  database: string;
  flush: string;
  flushMs: number;
  revokes: number;
  p50: number;
  p99: number;
  max: number;
}

async function measure(database: string, url: string): Promise<Run[]> {
  // bench/seed.ts: tenant `default`, its admin, and the keys, inserted in bulk.
  const seeded = spawnSync(process.execPath, ['--import', 'tsx', 'bench/seed.ts', '--url', url, '--keys', String(KEYS), '--valid', '0', '--secret', SECRET], { cwd: ROOT, stdio: 'inherit' });
  if (seeded.status !== 0) throw new Error(`seed exited ${seeded.status}`);
  const store = await Store.open(url);
  const services = createServices(store, { secret: SECRET, lastUsedFlushMs: 3_600_000 });
  const app = await buildApp({ services });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const runs: Run[] = [];
  try {
    const signIn = await fetch(`${base}/v1/auth/authenticate?setCookie=false`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ emailId: 'admin@keyward.local', password: 'keeper-password-1' }),
    });
    const token = (await signIn.json()).Authorization as string;
    const all = (await store.connection.db.selectFrom('api_keys').select('uid').execute()).map((r) => r.uid);
    // Each revoke takes a key not revoked before, in random order across the batch.
    const shuffled = [...all].sort(() => Math.random() - 0.5);
    const client = new Worker(CLIENT, { eval: true, workerData: { url: base, token, uids: shuffled, every: EVERY_MS } });
    const revokesDuring = async (work: () => Promise<void>) => {
      const answer = new Promise<number[]>((resolve) => client.once('message', resolve));
      client.postMessage({ start: true });
      const t = performance.now();
      await work();
      const flushMs = performance.now() - t;
      client.postMessage({ stop: performance.timeOrigin + performance.now() });
      const ms = (await answer).sort((a, b) => a - b);
      return { flushMs, revokes: ms.length, p50: pct(ms, 50), p99: pct(ms, 99), max: ms.at(-1)! };
    };
    const fullBatch = async () => {
      await store.connection.db.updateTable('api_keys').set({ last_used_at: null }).execute();
      const at = Date.now();
      return new Map(all.map((uid) => [uid, at]));
    };

    const flushes: [string, (batch: Map<string, number>) => Promise<void>][] = [
      ['before: one UPDATE per key, one transaction', (batch) => oneTransaction(store, batch)],
      [
        'after: LastUsedRecorder.flush (500 keys a statement)',
        async (batch) => {
          const recorder = new LastUsedRecorder(store, 3_600_000, () => {});
          for (const [uid, at] of batch) recorder.record(uid, at);
          await recorder.flush();
        },
      ],
      ...EXTRA_CHUNKS.map((n): [string, (batch: Map<string, number>) => Promise<void>] => [`after, ${n} keys a statement`, (batch) => store.apiKeys.recordLastUsed(batch, n)]),
    ];
    console.error(`${database}: revokes alone, 2 s`);
    runs.push({ database, flush: 'no flush (revokes alone)', ...(await revokesDuring(() => new Promise((r) => setTimeout(r, 2000)))), flushMs: NaN });
    for (const [name, flush] of flushes) {
      const batch = await fullBatch();
      console.error(`${database}: ${name}`);
      runs.push({ database, flush: name, ...(await revokesDuring(() => flush(batch))) });
      const written = await store.connection.db.selectFrom('api_keys').select((eb) => eb.fn.countAll<number>().as('n')).where('last_used_at', '=', batch.values().next().value!).executeTakeFirstOrThrow();
      if (Number(written.n) !== KEYS) throw new Error(`${name}: ${written.n} of ${KEYS} keys written`);
    }
    await client.terminate();
  } finally {
    await app.close();
    await store.close();
  }
  return runs;
}

const f = (n: number, d = 0) => (Number.isNaN(n) ? '-' : n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));

const work = mkdtempSync(join(tmpdir(), 'keyward-flush-'));
const pgName = `keyward_flush_${process.pid}`;
const admin = new pg.Client({ connectionString: PG_ADMIN });
await admin.connect();
try {
  const runs = await measure('SQLite', `sqlite:${join(work, 'keyward.db')}`);
  await admin.query(`create database ${pgName}`);
  const u = new URL(PG_ADMIN);
  u.pathname = `/${pgName}`;
  runs.push(...(await measure('PostgreSQL', u.toString())));
  console.log(
    [
      `Machine: ${cpus().length} × ${cpus()[0]!.model}, ${f(totalmem() / 2 ** 30, 1)} GiB RAM, Node ${process.version}.`,
      '',
      `Last-used flush of ${f(KEYS)} keys (every key in the batch, none written before), while a client revokes keys of the batch over HTTP, one at a time, sending the next ${EVERY_MS} ms after the previous (or when it answers, if later); latency as the client sees it:`,
      '',
      '| database | flush | flush time (ms) | revokes during it | revoke p50 / p99 / max (ms) |',
      '| --- | --- | ---: | ---: | ---: |',
      ...runs.map((r) => `| ${r.database} | ${r.flush} | ${f(r.flushMs)} | ${r.revokes} | ${f(r.p50, 1)} / ${f(r.p99, 1)} / ${f(r.max, 1)} |`),
      '',
      `<!-- ${JSON.stringify(runs)} -->`,
    ].join('\n'),
  );
} finally {
  await admin.query(`drop database if exists ${pgName} with (force)`);
  await admin.end();
  rmSync(work, { recursive: true, force: true });
}
