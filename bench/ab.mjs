#!/usr/bin/env node
/**
 * A/B of Keyward's CPU per authenticated request: this checkout against another (`--base`, e.g.
 * ../main), beside the reference cached check, GET /v1/users/info with a cached key. For trying
 * a hot-path change; `npm run bench` is the report.
 *
 *   node bench/ab.mjs --base ../main [--configs sqlite:warn,sqlite:info,postgres:warn,postgres:info]
 *                     [--rounds 3] [--duration 6] [--rate 2000] [--data DIR]
 *
 * On a shared 2-core machine the figures of one server move by 10 % from one minute to the next
 * with what else runs, and one process can sit a few µs per request above another of the same
 * code for its whole life. So, for each configuration, the reference and both checkouts run at
 * the same time, each driven at the same fixed rate (`--rate` requests/s each, from this
 * process), so that whatever the machine does falls on all three alike; and every round starts
 * fresh processes. Read the medians, and the ratios within a round. CPU is each process's user +
 * system time from /proc/<pid>/stat over the measured run, divided by the requests it answered.
 *
 * `--data DIR` keeps the seeded databases (SQLite in DIR, PostgreSQL named in DIR/seeded.json)
 * for the next run; without it they are seeded (bench/seed.ts) and dropped afterwards.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: {
    base: { type: 'string' },
    configs: { type: 'string', default: 'sqlite:warn,sqlite:info,postgres:warn,postgres:info' },
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '6' },
    rate: { type: 'string', default: '2000' },
    connections: { type: 'string', default: '10' },
    keys: { type: 'string', default: '100000' },
    data: { type: 'string' },
  },
});
const ROUNDS = Number(values.rounds);
const DURATION = Number(values.duration);
const RATE = Number(values.rate);
const CONNECTIONS = Number(values.connections);
const KEYS = Number(values.keys);
const PG_ADMIN = process.env.KEYWARD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECRET = 'bench-secret-0123456789abcdef';
const CLK_TCK = 100;
const work = mkdtempSync(join(tmpdir(), 'keyward-ab-'));
const data = values.data ? resolve(values.data) : work;
const children = new Set();

/**
 * Starts a server; resolves once it says where it listens. Keyward says so on stderr, and its
 * log (stdout) goes to a file, as in production: read through a pipe, every log line would cost
 * this process CPU. The reference says so on stdout, which it writes nothing else to.
 */
function start(cwd, args, env, { logToFile = true } = {}) {
  return new Promise((done, fail) => {
    const log = logToFile ? openSync(join(work, 'server.log'), 'a') : 'pipe';
    const proc = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', log, 'pipe'] });
    if (logToFile) closeSync(log);
    children.add(proc);
    let err = '';
    const onData = (d) => {
      err += d;
      const port = err.match(/LISTENING (\d+)/)?.[1] ?? err.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/)?.[1];
      if (port) done({ url: `http://127.0.0.1:${port}`, proc, key: err.match(/KEY (\S+)/)?.[1] });
    };
    proc.stderr.on('data', onData);
    proc.stdout?.on('data', onData);
    proc.on('exit', (code) => fail(new Error(`${args.join(' ')} exited ${code}: ${err}`)));
  });
}

async function stop(server) {
  server.proc.kill('SIGTERM');
  await new Promise((r) => (server.proc.exitCode !== null ? r() : server.proc.once('exit', r)));
  children.delete(server.proc);
}

function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function seed(url) {
  const out = join(work, `keys-${Math.random().toString(36).slice(2)}.txt`);
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'bench/seed.ts', '--url', url, '--keys', String(KEYS), '--valid', '1', '--out', out, '--secret', SECRET], { cwd: ROOT, stdio: 'inherit' });
    p.on('exit', (code) => (code === 0 ? done(readFileSync(out, 'utf8').trim()) : fail(new Error(`seed exited ${code}`))));
  });
}

async function admin(sql) {
  const c = new pg.Client({ connectionString: PG_ADMIN });
  await c.connect();
  await c.query(sql);
  await c.end();
}

/** The seeded databases, `{ sqlite: {url, key}, postgres: {url, key, name} }`, made once per `data` directory. */
async function databases(dbs) {
  const file = join(data, 'seeded.json');
  const seeded = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  mkdirSync(data, { recursive: true });
  if (dbs.has('sqlite') && !seeded.sqlite) {
    const url = `sqlite:${join(data, 'keyward.db')}`;
    seeded.sqlite = { url, key: await seed(url) };
  }
  if (dbs.has('postgres') && !seeded.postgres) {
    const name = `keyward_ab_${process.pid}`;
    await admin(`create database ${name}`);
    const u = new URL(PG_ADMIN);
    u.pathname = `/${name}`;
    seeded.postgres = { url: u.toString(), name, key: await seed(u.toString()) };
  }
  if (values.data) writeFileSync(file, JSON.stringify(seeded));
  return seeded;
}

/** Loads every server at once, each at RATE, and returns each one's CPU µs per request. */
async function measureTogether(servers) {
  const run = (duration, s) => autocannon({ url: `${s.url}/v1/users/info`, headers: { ApiKey: s.key }, connections: CONNECTIONS, duration, overallRate: RATE });
  await Promise.all(servers.map((s) => run(2, s)));
  const before = servers.map((s) => cpuSeconds(s.proc.pid));
  const results = await Promise.all(servers.map((s) => run(DURATION, s)));
  return servers.map((s, i) => {
    const r = results[i];
    if (r.non2xx || r.errors) throw new Error(`${s.url}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
    return ((cpuSeconds(s.proc.pid) - before[i]) * 1e6) / r.requests.total;
  });
}

const configs = values.configs.split(',').map((c) => {
  const [db, level] = c.split(':');
  return { db, level };
});
const checkouts = [['this', ROOT], ...(values.base ? [['base', resolve(values.base)]] : [])];
let seeded = {};
const cleanUp = async () => {
  for (const c of children) c.kill('SIGKILL');
  if (!values.data && seeded.postgres) await admin(`drop database if exists ${seeded.postgres.name} with (force)`).catch(() => {});
  rmSync(work, { recursive: true, force: true });
};
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => cleanUp().finally(() => process.exit(1)));

try {
  seeded = await databases(new Set(configs.map((c) => c.db)));
  const rows = {};
  const add = (name, us) => (rows[name] ??= []).push(us);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const { db, level } of configs) {
      const env = { KEYWARD_DATABASE_URL: seeded[db].url, KEYWARD_SECRET: SECRET, KEYWARD_PORT: '0', KEYWARD_LOG_LEVEL: level, KEYWARD_AUTH_FAILURES_PER_MINUTE: '0' };
      const names = ['reference', ...checkouts.map(([name]) => `${name} ${db} ${level}`)];
      const servers = await Promise.all([
        start(ROOT, ['bench/reference.mjs'], { KEYS: String(KEYS) }, { logToFile: false }),
        ...checkouts.map(([, dir]) => start(dir, ['bin/keyward.js', 'serve'], env).then((s) => ({ ...s, key: seeded[db].key }))),
      ]);
      try {
        const us = await measureTogether(servers);
        names.forEach((n, i) => add(n === 'reference' ? `reference (beside ${db} ${level})` : n, us[i]));
        // Ratios within the round: the machine's mood cancels out.
        names.slice(1).forEach((n, i) => add(`${n} / reference`, us[i + 1] / us[0]));
        console.error(`round ${round} ${db} ${level}: ${names.map((n, i) => `${n} ${us[i].toFixed(1)} µs`).join(', ')}`);
      } finally {
        await Promise.all(servers.map(stop));
      }
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  console.log(`${RATE} requests/s to each server, ${DURATION} s, ${ROUNDS} rounds.`);
  console.log('| target | median | each round |');
  console.log('| --- | ---: | --- |');
  const fmt = (name, x) => (name.endsWith('/ reference') ? `${x.toFixed(2)}×` : `${x.toFixed(1)} µs`);
  for (const [name, xs] of Object.entries(rows)) console.log(`| ${name} | ${fmt(name, median(xs))} | ${xs.map((x) => fmt(name, x)).join(', ')} |`);
} finally {
  await cleanUp();
}
