#!/usr/bin/env node
/**
 * Keyward's benchmarks, in one run on one machine, each figure beside its baseline from the same
 * run. Servers run as their own processes; the load comes from this process over loopback.
 *
 *   npm run bench                      (BENCH_DURATION=10 BENCH_CONNECTIONS=50 by default)
 *
 * 1. throughput: bare Fastify (ceiling), Keyward on SQLite and on PostgreSQL with 100,000 keys,
 *    Better Auth's API key plugin on SQLite with 100,000 keys: GET /v1/users/info with a key;
 * 2. latency: the same four, one request at a time, to see what authentication adds;
 * 3. propagation: a revoke on instance A until instance B refuses the key, two instances on PostgreSQL;
 * 4. memory: RSS of one instance with 1,000,000 keys in the database, empty and with a full cache;
 * 5. refusal timing: how long a 401 takes for a typo (bad checksum), a well-formed key that does
 *    not exist, and a near miss of a real key (one character changed, checksum recomputed), to
 *    show whether timing tells a wrong key from a nonexistent one;
 * 6. console: in Debian's Chromium, the sign-in page from a cold start, and the first screen after
 *    sign-in (My API Keys of a user with 100,000 keys) until its rows are on screen.
 * 7. flush: revokes over HTTP during a last-used flush of 100,000 keys, on SQLite and PostgreSQL,
 *    the flush as it was and as it is (bench/lastUsedFlush.ts, which also runs on its own).
 *
 * BENCH_PARTS picks parts (throughput,propagation,memory,console,flush; all by default).
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { register } from 'tsx/esm/api';

register();
const { newApiKey, withChecksum } = await import('../src/domain/apiKeyFormat.ts');

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const KEYS = Number(process.env.BENCH_KEYS ?? 100_000);
const MEMORY_KEYS = Number(process.env.BENCH_MEMORY_KEYS ?? 1_000_000);
const REVOCATIONS = Number(process.env.BENCH_REVOCATIONS ?? 200);
const PG_ADMIN = process.env.KEYWARD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECRET = 'bench-secret-0123456789abcdef';
const work = mkdtempSync(join(tmpdir(), 'keyward-bench-'));
const children = new Set();

/**
 * Starts a server process and resolves with its address once it says where it listens. With
 * `logTo`, its stdout (Keyward's JSON log) goes straight to that file, as in production: if this
 * process read it through a pipe, the load generator's own core would pay for every log line.
 */
function start(cmd, args, env, { cwd = ROOT, logTo } = {}) {
  return new Promise((resolve, reject) => {
    const stdout = logTo ? openSync(logTo, 'a') : 'pipe';
    const proc = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', stdout, 'pipe'] });
    if (logTo) closeSync(stdout);
    children.add(proc);
    let out = '';
    let err = '';
    const onData = (d) => {
      if (out === null) return; // drained: the server keeps logging, nobody reads it
      out += d;
      const port = out.match(/LISTENING (\d+)/)?.[1] ?? out.match(/listening (?:at|on) http:\/\/127\.0\.0\.1:(\d+)/)?.[1];
      if (port) {
        const key = out.match(/KEY (\S+)/)?.[1];
        out = null;
        resolve({ url: `http://127.0.0.1:${port}`, proc, key });
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr.on('data', (d) => {
      err += d;
      onData(d);
    });
    proc.on('exit', (code) => out !== null && reject(new Error(`${args.join(' ')} exited ${code}: ${err}`)));
  });
}

async function stop(server) {
  server.proc.kill('SIGTERM');
  await new Promise((r) => (server.proc.exitCode !== null ? r() : server.proc.once('exit', r)));
  children.delete(server.proc);
}

const keyward = (url, extra = {}) =>
  // The propagation run answers B's 401s 200 times a minute: no per-address failure limit here.
  start(
    process.execPath,
    ['bin/keyward.js', 'serve'],
    { KEYWARD_DATABASE_URL: url, KEYWARD_SECRET: SECRET, KEYWARD_PORT: '0', KEYWARD_LOG_LEVEL: 'info', KEYWARD_AUTH_FAILURES_PER_MINUTE: '0', ...extra },
    { logTo: join(work, 'keyward.log') },
  );

function seed(url, keys, valid) {
  const out = join(work, `keys-${Math.random().toString(36).slice(2)}.txt`);
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'bench/seed.ts', '--url', url, '--keys', String(keys), '--valid', String(valid), '--out', out, '--secret', SECRET], { cwd: ROOT, stdio: 'inherit' });
    p.on('exit', (code) => (code === 0 ? resolve(readFileSync(out, 'utf8').trim().split('\n')) : reject(new Error(`seed exited ${code}`))));
  });
}

async function createPgDatabase() {
  const name = `keyward_bench_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const c = new pg.Client({ connectionString: PG_ADMIN });
  await c.connect();
  await c.query(`create database ${name}`);
  await c.end();
  const u = new URL(PG_ADMIN);
  u.pathname = `/${name}`;
  return { url: u.toString(), name };
}

async function dropPgDatabase(name) {
  const c = new pg.Client({ connectionString: PG_ADMIN });
  await c.connect();
  await c.query(`drop database if exists ${name} with (force)`);
  await c.end();
}

/** Throughput with autocannon, after a short warm-up. */
async function throughput(url, headers) {
  await autocannon({ url: `${url}/v1/users/info`, headers, connections: CONNECTIONS, duration: 2 });
  const r = await autocannon({ url: `${url}/v1/users/info`, headers, connections: CONNECTIONS, duration: DURATION });
  if (r.non2xx || r.errors) throw new Error(`${url}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 };
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** p50, p90 and the worst of a set of timings. */
function summary(xs) {
  const sorted = [...xs].sort((a, b) => a - b);
  return { p50: pct(sorted, 50), p90: pct(sorted, 90), max: sorted.at(-1) };
}

/** Latency one request at a time (microsecond resolution, which autocannon lacks). */
async function latency(url, headers, n = 5000) {
  for (let i = 0; i < 500; i++) await (await fetch(`${url}/v1/users/info`, { headers })).arrayBuffer();
  const samples = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const res = await fetch(`${url}/v1/users/info`, { headers });
    await res.arrayBuffer();
    samples.push(performance.now() - t);
    if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
  }
  samples.sort((a, b) => a - b);
  return { p50: pct(samples, 50), p99: pct(samples, 99) };
}

function rssMb(pid) {
  const kb = Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);
  return kb / 1024;
}

async function signIn(url) {
  const res = await fetch(`${url}/v1/auth/authenticate?setCookie=false`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ emailId: 'admin@keyward.local', password: 'keeper-password-1' }),
  });
  return (await res.json()).Authorization;
}

async function propagation(url) {
  const a = await keyward(url);
  const b = await keyward(url);
  try {
    const token = await signIn(a.url);
    const json = { Authorization: token, 'content-type': 'application/json' };
    const delays = [];
    for (let i = 0; i < REVOCATIONS; i++) {
      const created = await (await fetch(`${a.url}/v1/apiKeys`, { method: 'POST', headers: json, body: JSON.stringify({ metadata: { name: `prop-${i}` }, spec: { expiry: new Date(Date.now() + 86_400_000).toISOString() } }) })).json();
      const use = async () => (await fetch(`${b.url}/v1/users/info`, { headers: { ApiKey: created.apiKey } })).status;
      for (let w = 0; w < 3; w++) if ((await use()) !== 200) throw new Error('key not accepted on B');
      const revoke = await fetch(`${a.url}/v1/apiKeys/${created.uid}`, { method: 'PATCH', headers: json, body: '{"isActive":false}' });
      if (revoke.status !== 204) throw new Error(`revoke answered ${revoke.status}`);
      const t0 = performance.now();
      while ((await use()) !== 401) {
        if (performance.now() - t0 > 5000) throw new Error('B still accepts the key after 5 s');
      }
      delays.push(performance.now() - t0);
    }
    delays.sort((x, y) => x - y);
    return { n: delays.length, p50: pct(delays, 50), p99: pct(delays, 99), max: delays.at(-1) };
  } finally {
    await stop(a);
    await stop(b);
  }
}

async function memory() {
  const url = `sqlite:${join(work, 'memory.db')}`;
  const cacheMax = 100_000;
  const keys = await seed(url, MEMORY_KEYS, cacheMax);
  const server = await keyward(url, { KEYWARD_CACHE_MAX_KEYS: String(cacheMax) });
  try {
    await fetch(`${server.url}/healthz`);
    const empty = rssMb(server.proc.pid);
    let next = 0;
    const worker = async () => {
      while (next < keys.length) {
        const key = keys[next++];
        const res = await fetch(`${server.url}/v1/users/info`, { headers: { ApiKey: key } });
        await res.arrayBuffer();
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    const full = rssMb(server.proc.pid);
    return { keysInDb: MEMORY_KEYS, cacheMax, emptyMb: empty, fullMb: full, bytesPerEntry: ((full - empty) * 1024 * 1024) / cacheMax };
  } finally {
    await stop(server);
  }
}

/**
 * 401s for three kinds of bad key, interleaved in random order so that drift in the machine
 * falls on all three alike; one request at a time. `realKey` is a key that exists.
 */
async function refusalTiming(url, realKey, n = 3000) {
  const body = realKey.slice(0, -6);
  const other = (c) => (c === 'a' ? 'b' : 'a');
  const kinds = {
    'typo (bad checksum)': () => realKey.slice(0, -1) + other(realKey.at(-1)),
    'well-formed, nonexistent': () => newApiKey('any').key,
    'near miss of a real key': () => {
      const i = 3 + Math.floor(Math.random() * 32);
      return withChecksum(body.slice(0, i) + other(body[i]) + body.slice(i + 1));
    },
  };
  const names = Object.keys(kinds);
  const samples = Object.fromEntries(names.map((k) => [k, []]));
  const order = names.flatMap((k) => Array(n).fill(k)).sort(() => Math.random() - 0.5);
  for (let i = 0; i < 300; i++) await (await fetch(`${url}/v1/users/info`, { headers: { ApiKey: kinds[names[i % 3]]() } })).arrayBuffer();
  for (const kind of order) {
    const key = kinds[kind]();
    const t = performance.now();
    const res = await fetch(`${url}/v1/users/info`, { headers: { ApiKey: key } });
    await res.arrayBuffer();
    samples[kind].push(performance.now() - t);
    if (res.status !== 401) throw new Error(`${kind}: ${res.status}`);
  }
  return Object.fromEntries(names.map((k) => [k, summary(samples[k])]));
}

/**
 * The console's first screens, each from a fresh browser context (no cache): sign-in page until
 * its button shows, with the browser's first contentful paint; and, signed in, /keys until the
 * table's rows are on screen. Wall time from navigation, as a person would wait.
 */
async function consoleTimes(url, n = 20) {
  // The browser tests' own launch: Debian's Chromium (KEYWARD_CHROMIUM), flags for a closed network.
  const { launch } = await import('../test/helpers/browser.ts');
  const browser = await launch();
  const login = [];
  const paint = [];
  const keys = [];
  try {
    for (let i = 0; i < n; i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      let t = performance.now();
      await page.goto(`${url}/login`, { waitUntil: 'commit' });
      await page.getByRole('button', { name: 'Log in' }).waitFor();
      login.push(performance.now() - t);
      paint.push(await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN));
      await page.getByLabel('Email').fill('admin@keyward.local');
      await page.getByLabel('Password').fill('keeper-password-1');
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('button', { name: 'User Menu' }).waitFor();
      t = performance.now();
      await page.goto(`${url}/keys`, { waitUntil: 'commit' });
      await page.getByRole('cell', { name: 'bench-0', exact: true }).waitFor();
      keys.push(performance.now() - t);
      await context.close();
    }
  } finally {
    await browser.close();
  }
  return { n, login: summary(login), paint: summary(paint), keys: summary(keys) };
}

/** bench/lastUsedFlush.ts in its own process (it listens and seeds its own databases); its Markdown. */
function lastUsedFlush() {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'bench/lastUsedFlush.ts', '--keys', String(KEYS)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    children.add(p);
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('exit', (code) => {
      children.delete(p);
      code === 0 ? resolve(out) : reject(new Error(`bench/lastUsedFlush.ts exited ${code}`));
    });
  });
}

const f = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

const PARTS = new Set((process.env.BENCH_PARTS ?? 'throughput,propagation,memory,console,flush').split(','));

async function main() {
  const results = {};
  const refusals = {};
  const lines = [];
  console.error(`machine: ${cpus().length} × ${cpus()[0].model}, ${f(totalmem() / 2 ** 30, 1)} GiB, Node ${process.version}`);

  console.error('seeding SQLite and PostgreSQL with', KEYS, 'keys…');
  const sqliteUrl = `sqlite:${join(work, 'keyward.db')}`;
  const [sqliteKey] = await seed(sqliteUrl, KEYS, 1);
  const pgDb = await createPgDatabase();
  const [pgKey] = await seed(pgDb.url, KEYS, 1);
  lines.push(`Machine: ${cpus().length} × ${cpus()[0].model}, ${f(totalmem() / 2 ** 30, 1)} GiB RAM, Node ${process.version}.`, '');

  if (PARTS.has('throughput')) {
    const targets = [
      ['bare Fastify (ceiling)', () => start(process.execPath, ['bench/bare.mjs'], {}), () => ({})],
      ['Keyward, SQLite, 100k keys', () => keyward(sqliteUrl), () => ({ ApiKey: sqliteKey })],
      ['Keyward, PostgreSQL, 100k keys', () => keyward(pgDb.url), () => ({ ApiKey: pgKey })],
      // The same as the SQLite row without the per-request access log line, to show what it costs.
      ['Keyward, SQLite, 100k keys, log level warn', () => keyward(sqliteUrl, { KEYWARD_LOG_LEVEL: 'warn' }), () => ({ ApiKey: sqliteKey })],
      ['Better Auth API key plugin, SQLite, 100k keys', () => start(process.execPath, ['bench/peer-better-auth.mjs'], { KEYS: String(KEYS), DB_PATH: join(work, 'peer.db') }), (s) => ({ 'x-api-key': s.key })],
    ];
    for (const [name, launch, headers] of targets) {
      console.error(`measuring ${name}…`);
      const server = await launch();
      try {
        results[name] = { ...(await throughput(server.url, headers(server))), latency: await latency(server.url, headers(server)) };
        if (name.startsWith('Keyward') && !name.includes('warn')) refusals[name] = await refusalTiming(server.url, headers(server).ApiKey);
      } finally {
        await stop(server);
      }
    }
    const ceiling = results['bare Fastify (ceiling)'];
    const peer = results['Better Auth API key plugin, SQLite, 100k keys'];
    const kinds = Object.keys(Object.values(refusals)[0]);
    lines.push(
      `Load: autocannon, ${CONNECTIONS} connections, ${DURATION} s after 2 s of warm-up, from another process on loopback. Keyward at its default log level (info: one JSON line per request).`,
      '',
      '| target | requests/s | vs ceiling | vs peer | p50 / p99 under load (ms) | one at a time p50 / p99 (ms) | added p99 vs ceiling (ms) |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...Object.entries(results).map(([name, r]) =>
        `| ${name} | ${f(r.rps)} | ${f((100 * r.rps) / ceiling.rps)} % | ${f(r.rps / peer.rps, 2)}× | ${r.p50} / ${r.p99} | ${f(r.latency.p50, 3)} / ${f(r.latency.p99, 3)} | ${f(r.latency.p99 - ceiling.latency.p99, 3)} |`,
      ),
      '',
      'Refusal timing (401s), one request at a time, the three kinds interleaved at random, ms p50 / p90:',
      '',
      `| target | ${kinds.join(' | ')} |`,
      `| --- |${' ---: |'.repeat(kinds.length)}`,
      ...Object.entries(refusals).map(([name, r]) => `| ${name} | ${Object.values(r).map((x) => `${f(x.p50, 3)} / ${f(x.p90, 3)}`).join(' | ')} |`),
      '',
    );
  }

  let prop;
  if (PARTS.has('propagation')) {
    console.error(`propagation: ${REVOCATIONS} revocations across two instances on PostgreSQL…`);
    prop = await propagation(pgDb.url);
    lines.push(`Revocation propagation, instance A's 204 until instance B refuses the key (two instances, one PostgreSQL, ${prop.n} revocations, each key warm in B's cache): p50 ${f(prop.p50, 2)} ms, p99 ${f(prop.p99, 2)} ms, max ${f(prop.max, 2)} ms.`, '');
  }
  await dropPgDatabase(pgDb.name);

  let mem;
  if (PARTS.has('memory')) {
    console.error(`memory: ${MEMORY_KEYS} keys in SQLite, filling a 100,000-key cache…`);
    mem = await memory();
    lines.push(`Memory: ${f(mem.keysInDb)} keys in SQLite; RSS ${f(mem.emptyMb, 1)} MB after start, ${f(mem.fullMb, 1)} MB with the cache full (${f(mem.cacheMax)} entries, KEYWARD_CACHE_MAX_KEYS), about ${f(mem.bytesPerEntry)} bytes per cached key.`, '');
  }

  let ui;
  if (PARTS.has('console')) {
    console.error('console: first screens in Chromium…');
    const server = await keyward(sqliteUrl);
    try {
      ui = await consoleTimes(server.url);
    } finally {
      await stop(server);
    }
    const ms = (x) => `${f(x.p50)} / ${f(x.p90)} / ${f(x.max)}`;
    lines.push(
      `Console (Chromium, ${ui.n} cold loads each, a fresh context every time, ms p50 / p90 / max): sign-in page until its button shows ${ms(ui.login)}, first contentful paint ${ms(ui.paint)}; signed in, My API Keys (the admin owns ${f(KEYS)} keys; the first page of 50 rows) until its first row shows ${ms(ui.keys)}.`,
    );
  }

  if (PARTS.has('flush')) {
    console.error(`flush: revokes during a last-used flush of ${KEYS} keys, SQLite and PostgreSQL…`);
    const out = await lastUsedFlush();
    // Its own machine line repeats ours.
    lines.push('', out.replace(/^Machine:.*\n\n/, '').trim());
  }

  console.log(lines.join('\n'));
  console.log(`\n<!-- ${JSON.stringify({ results, refusals, prop, mem, ui })} -->`);
}

try {
  await main();
} finally {
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
