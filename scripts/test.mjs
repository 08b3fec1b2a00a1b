#!/usr/bin/env node
// Runs every test file (src/**/*.test.ts, test/**/*.test.ts) with Node's test runner and tsx.
// PostgreSQL is required when CI=true; on a laptop without it, its suites are skipped, loudly.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';

const ci = process.env.CI === 'true' || process.env.CI === '1';
const pgUrl = process.env.KEYWARD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function find(dir) {
  let out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(find(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

async function postgresReachable() {
  const client = new pg.Client({ connectionString: pgUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch (err) {
    return err.message;
  } finally {
    await client.end().catch(() => {});
  }
}

const env = { ...process.env, KEYWARD_TEST_PG_URL: pgUrl };
const reachable = await postgresReachable();
if (reachable !== true) {
  if (ci) {
    console.error(`PostgreSQL is required in CI but is not reachable at ${pgUrl}: ${reachable}`);
    process.exit(1);
  }
  console.warn(`\n*** PostgreSQL is not reachable at ${pgUrl} (${reachable}).\n*** Skipping the PostgreSQL runs of every store and API suite; SQLite runs only.\n`);
  env.KEYWARD_TEST_SKIP_PG = '1';
}

const files = process.argv.length > 2 ? process.argv.slice(2) : [...find('src'), ...find('test')].sort();
const LOGS = 'test-artifacts/server-logs';
rmSync(LOGS, { recursive: true, force: true });
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], { stdio: 'inherit', env });

// The whole run's server logs must hold no credential: no API key (its format is recognisable)
// and no session token (a JWT).
const leaks = [];
if (existsSync(LOGS)) {
  for (const name of readdirSync(LOGS)) {
    const text = readFileSync(join(LOGS, name), 'utf8');
    for (const m of text.matchAll(/kw_[0-9A-Za-z]{38}|eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}/g)) leaks.push(`${name}: ${m[0].slice(0, 12)}…`);
  }
  console.log(`credential scan of ${readdirSync(LOGS).length} server logs: ${leaks.length ? `${leaks.length} LEAKED` : 'no key or token found'}`);
}
if (leaks.length) {
  console.error(`Credentials found in server logs:\n${leaks.slice(0, 10).join('\n')}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
