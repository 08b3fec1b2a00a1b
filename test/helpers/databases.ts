/**
 * The databases every store and API suite runs on: a fresh SQLite file, and a fresh
 * PostgreSQL database (created for the suite, dropped after), after Kysely's own test setup.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface TestDatabase {
  name: 'sqlite' | 'postgres';
  url: string;
  drop(): Promise<void>;
}

export type DatabaseFactory = { name: 'sqlite' | 'postgres'; create(): Promise<TestDatabase> };

const adminUrl = () => process.env.KEYWARD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export async function createSqlite(): Promise<TestDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-test-'));
  return { name: 'sqlite', url: `sqlite:${join(dir, 'keyward.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

export async function createPostgres(): Promise<TestDatabase> {
  const dbName = `keyward_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  await admin.end();
  const url = new URL(adminUrl());
  url.pathname = `/${dbName}`;
  return {
    name: 'postgres',
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl() });
      await c.connect();
      await c.query(`drop database if exists ${dbName} with (force)`);
      await c.end();
    },
  };
}

/** Every database to run on here: both, unless the runner found no PostgreSQL outside CI. */
export function databases(): DatabaseFactory[] {
  const all: DatabaseFactory[] = [{ name: 'sqlite', create: createSqlite }];
  if (process.env.KEYWARD_TEST_SKIP_PG !== '1') all.push({ name: 'postgres', create: createPostgres });
  return all;
}

export const createDatabase = (name: TestDatabase['name']) => (name === 'sqlite' ? createSqlite() : createPostgres());
