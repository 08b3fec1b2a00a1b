#!/usr/bin/env node
// Runs every test file (src/**/*.test.ts, test/**/*.test.ts) with Node's test runner and tsx.
// PostgreSQL is required when CI=true; on a laptop without it, its suites are skipped, loudly.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
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
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
