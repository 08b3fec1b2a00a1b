/**
 * The one place where SQLite and PostgreSQL differ: how to connect, how numbers come back,
 * and how a unique- or foreign-key-constraint violation looks. Everything above this file is dialect-free.
 */
import { chmodSync, closeSync, constants, mkdirSync, openSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Connection {
  db: Kysely<Database>;
  dialect: Dialect;
  /** The PostgreSQL connection settings, for a dedicated LISTEN connection. */
  pgConfig?: pg.PoolConfig;
  /** What opening changed on disk (file modes made private), one line each, for the caller to log once. */
  notes: string[];
}

export function parseDatabaseUrl(url: string): { dialect: Dialect; target: string } {
  if (url.startsWith('sqlite:')) return { dialect: 'sqlite', target: url.slice('sqlite:'.length) };
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return { dialect: 'postgres', target: url };
  throw new Error(`KEYWARD_DATABASE_URL must start with sqlite: or postgres:// (got "${url.split(':')[0]}:...")`);
}

// PostgreSQL returns bigint (int8, oid 20) as a string; our times and counts fit a double.
const INT8_OID = 20;
const pgTypes = {
  getTypeParser(oid: number, format?: any) {
    if (oid === INT8_OID) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
};

/**
 * The database file holds password hashes: create it, and the directory Keyward makes for it,
 * private to the server's user, as the secret file is. SQLite gives its -wal, -shm and -journal
 * files the mode of the database file, so they follow. An existing file keeps the mode it has.
 */
function createPrivately(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    closeSync(openSync(file, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

/**
 * Files made before Keyward created them private (0644, readable by every local user, with the
 * password hashes in them) are made private at open, and so are a -wal or -shm file left
 * beside them: SQLite gives a new -wal and -shm the database file's mode, so the database file
 * is fixed first, before SQLite opens it. The directory is made 0700 only when it holds nothing
 * but Keyward's files, as the one Keyward made for them does: a directory shared with other
 * things is the operator's to set. Returns what was done, or could not be, one line each.
 */
function makeExistingPrivate(file: string): string[] {
  const notes: string[] = [];
  const own = (path: string, wanted: number) => {
    let mode: number;
    try {
      mode = statSync(path).mode;
    } catch {
      return; // not there
    }
    if ((mode & 0o777 & ~wanted) === 0) return;
    try {
      chmodSync(path, wanted);
      notes.push(`${path} was readable by other users (mode ${octal(mode)}): made it ${octal(wanted)}`);
    } catch (err) {
      notes.push(`${path} is readable by other users (mode ${octal(mode)}) and could not be made ${octal(wanted)}: ${(err as Error).message}`);
    }
  };
  const names = ['', '-wal', '-shm', '-journal'].map((suffix) => `${basename(file)}${suffix}`);
  for (const name of names) own(join(dirname(file), name), 0o600);
  const dir = dirname(file);
  const ours = new Set([...names, 'secret']);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return notes;
  }
  if (entries.every((e) => ours.has(e))) own(dir, 0o700);
  return notes;
}

export function connect(url: string, opts: { poolSize?: number } = {}): Connection {
  const { dialect, target } = parseDatabaseUrl(url);
  if (dialect === 'sqlite') {
    const notes: string[] = [];
    if (target !== ':memory:' && target !== '') {
      createPrivately(target);
      notes.push(...makeExistingPrivate(target));
    }
    const database = new SqliteDatabase(target);
    database.pragma('journal_mode = WAL');
    // FULL: an acknowledged change survives a power cut, not only a crash. Writes are rare here.
    database.pragma('synchronous = FULL');
    database.pragma('foreign_keys = ON');
    database.pragma('busy_timeout = 5000');
    return { db: new Kysely<Database>({ dialect: new SqliteDialect({ database }) }), dialect, notes };
  }
  const pgConfig: pg.PoolConfig = { connectionString: target, types: pgTypes as any };
  const pool = new pg.Pool({ ...pgConfig, max: opts.poolSize ?? 10 });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), dialect, pgConfig, notes: [] };
}

export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** A row refers to one that is gone (for example a key for a user deleted meanwhile). */
export function isForeignKeyViolation(err: unknown): boolean {
  const e = err as { code?: string };
  return e?.code === '23503' || e?.code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}
