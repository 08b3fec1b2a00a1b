/**
 * GET /v1/apiKeys without paging parameters (every visible key in one answer, as Palette's
 * clients read it) at 100,000 keys: time to the first and the last byte, the answer's size, and
 * how much the server's RSS grows while it writes the answer, on SQLite and on PostgreSQL.
 * Beside it, for comparison, the same keys read page by page (limit=1000, following continue),
 * and the RSS growth of building the same answer in memory in one go (bench/listAllBuffered.ts).
 *
 *   node --import tsx bench/listAll.ts            (LIST_KEYS=100000 LIST_RUNS=3 by default)
 *
 * RSS is sampled from /proc/<pid>/status every 5 ms (Linux only); the growth is the peak during
 * a request minus the RSS just before it.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const KEYS = Number(process.env.LIST_KEYS ?? 100_000);
const RUNS = Number(process.env.LIST_RUNS ?? 3);
const PG_ADMIN = process.env.KEYWARD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECRET = 'bench-secret-0123456789abcdef';
const work = mkdtempSync(join(tmpdir(), 'keyward-listall-'));

const rssMb = (pid: number) => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)![1]) / 1024;

async function seed(url: string) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/seed.ts', '--url', url, '--keys', String(KEYS), '--valid', '0', '--secret', SECRET], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`seed failed: ${r.stderr}`);
  // A bulk load leaves PostgreSQL without statistics until autovacuum comes by, and without
  // them it may sort the whole table for every page: measure what a settled database does.
  if (url.startsWith('postgres')) {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query('analyze');
    await c.end();
  }
}

function startServer(url: string): Promise<{ url: string; proc: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['bin/keyward.js', 'serve'], {
      cwd: ROOT,
      env: { ...process.env, KEYWARD_DATABASE_URL: url, KEYWARD_SECRET: SECRET, KEYWARD_PORT: '0', KEYWARD_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout!.on('data', (d) => {
      if (out === null) return;
      out += d;
      const m = out.match(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) {
        out = null as unknown as string;
        resolve({ url: m[1], proc });
      }
    });
    proc.stderr!.resume();
    proc.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

async function timed(pid: number, fn: () => Promise<{ bytes: number; items: number; firstByteMs?: number }>) {
  const before = rssMb(pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 5);
  const t0 = performance.now();
  const result = await fn();
  const ms = performance.now() - t0;
  clearInterval(sampler);
  peak = Math.max(peak, rssMb(pid));
  return { ...result, ms, before, growth: peak - before };
}

async function unpaged(url: string, token: string) {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/apiKeys`, { headers: { Authorization: token } });
  const firstByteMs = performance.now() - t0;
  const text = await res.text();
  if (res.status !== 200) throw new Error(`status ${res.status}: ${text.slice(0, 200)}`);
  return { bytes: text.length, items: JSON.parse(text).items.length, firstByteMs };
}

async function paged(url: string, token: string) {
  let next = '';
  let bytes = 0;
  let items = 0;
  do {
    const res = await fetch(`${url}/v1/apiKeys?limit=1000${next ? `&continue=${next}` : ''}`, { headers: { Authorization: token } });
    const text = await res.text();
    bytes += text.length;
    const body = JSON.parse(text);
    items += body.items.length;
    next = body.listmeta.continue;
  } while (next);
  return { bytes, items };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function target(name: string, dbUrl: string) {
  await seed(dbUrl);
  const server = await startServer(dbUrl);
  try {
    const signIn = await fetch(`${server.url}/v1/auth/authenticate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ emailId: 'admin@keyward.local', password: 'keeper-password-1' }),
    });
    const token = (await signIn.json()).Authorization as string;
    const pid = server.proc.pid!;
    const idle = rssMb(pid);
    const all = [];
    const pages = [];
    for (let i = 0; i < RUNS; i++) {
      all.push(await timed(pid, () => unpaged(server.url, token)));
      pages.push(await timed(pid, () => paged(server.url, token)));
    }
    for (const r of [...all, ...pages]) if (r.items !== KEYS) throw new Error(`${name}: ${r.items} keys listed, ${KEYS} expected`);
    const buffered = [];
    for (let i = 0; i < RUNS; i++) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/listAllBuffered.ts', dbUrl], { cwd: ROOT, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`buffered run failed: ${r.stderr}`);
      buffered.push(JSON.parse(r.stdout.trim().split('\n').pop()!).growthMb as number);
    }
    return { name, idle, all, pages, buffered };
  } finally {
    server.proc.kill('SIGTERM');
    await new Promise((r) => server.proc.once('exit', r));
  }
}

const results = [];
results.push(await target('SQLite', `sqlite:${join(work, 'list.db')}`));
const dbName = `keyward_listall_${process.pid}`;
const admin = new pg.Client({ connectionString: PG_ADMIN });
await admin.connect();
await admin.query(`create database ${dbName}`);
try {
  const u = new URL(PG_ADMIN);
  u.pathname = `/${dbName}`;
  results.push(await target('PostgreSQL', u.toString()));
} finally {
  await admin.query(`drop database if exists ${dbName} with (force)`);
  await admin.end();
  rmSync(work, { recursive: true, force: true });
}

const f = (n: number, d = 0) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
console.log(`\n${f(KEYS)} keys, ${RUNS} runs each, medians (max in brackets); Node ${process.version}\n`);
console.log(
  '| database | RSS idle (MB) | one answer: first byte / last byte (ms) | answer size (MB) | RSS growth, one answer (MB) | pages of 1,000: total (ms) | RSS growth, pages (MB) | RSS growth, built in memory (MB) |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of results) {
  const g = (xs: { growth: number }[]) => `${f(median(xs.map((x) => x.growth)), 1)} (${f(Math.max(...xs.map((x) => x.growth)), 1)})`;
  console.log(
    `| ${r.name} | ${f(r.idle, 1)} | ${f(median(r.all.map((x) => x.firstByteMs!)))} / ${f(median(r.all.map((x) => x.ms)))} | ${f(r.all[0].bytes / 1e6, 1)} | ${g(r.all)} | ${f(median(r.pages.map((x) => x.ms)))} | ${g(r.pages)} | ${f(median(r.buffered), 1)} (${f(Math.max(...r.buffered), 1)}) |`,
  );
}
