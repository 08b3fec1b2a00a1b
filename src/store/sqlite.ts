/** SQLite: one file, one process, one writer at a time. */
import { closeSync, constants, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { StoreCapabilities } from './capabilities.js';
import type { Connection } from './dialects.js';
import type { Database } from './schema.js';

const errorCode = (err: unknown) => (err as { code?: unknown } | undefined)?.code;

const capabilities: StoreCapabilities = {
  rowLocks: false,
  // The database is a file on this machine: other instances elsewhere cannot share it.
  sharedByProcesses: false,
  serialColumn: { dataType: 'integer', build: (column) => column.primaryKey().autoIncrement() },
  isUniqueViolation: (err) => errorCode(err) === 'SQLITE_CONSTRAINT_UNIQUE' || errorCode(err) === 'SQLITE_CONSTRAINT_PRIMARYKEY',
  isForeignKeyViolation: (err) => errorCode(err) === 'SQLITE_CONSTRAINT_FOREIGNKEY',
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

/** `target` is a file path, or `:memory:`. */
export function connectSqlite(target: string): Connection {
  if (target !== ':memory:' && target !== '') createPrivately(target);
  const database = new SqliteDatabase(target);
  database.pragma('journal_mode = WAL');
  // FULL: an acknowledged change survives a power cut, not only a crash. Writes are rare here.
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  return { db: new Kysely<Database>({ dialect: new SqliteDialect({ database }) }), capabilities };
}
