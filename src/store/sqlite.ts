/** SQLite: one file, one process, one writer at a time. */
import { chmodSync, closeSync, constants, mkdirSync, openSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
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

/** `target` is a file path, or `:memory:`. */
export function connectSqlite(target: string): Connection {
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
  return { db: new Kysely<Database>({ dialect: new SqliteDialect({ database }) }), capabilities, notes };
}
