/**
 * The one place that knows which databases there are: a database URL picks one, and its file
 * (sqlite.ts, postgres.ts) answers for it. Everything above src/store sees only the
 * capabilities (capabilities.ts), never a database's name.
 */
import type { Kysely } from 'kysely';
import type { StoreCapabilities } from './capabilities.js';
import { parseDatabaseUrl } from './databaseUrl.js';
import { connectPostgres } from './postgres.js';
import type { Database } from './schema.js';
import { connectSqlite } from './sqlite.js';

export interface Connection {
  db: Kysely<Database>;
  capabilities: StoreCapabilities;
  /** Present with `capabilities.notifications`: sends within the transaction that `db` runs. */
  notify?: (db: Kysely<Database>, channel: string, payload: string) => Promise<void>;
  /** What opening changed on disk (file modes made private), one line each, for the caller to log once. */
  notes: string[];
}

export function connect(url: string, opts: { poolSize?: number } = {}): Connection {
  const target = parseDatabaseUrl(url);
  return target.kind === 'sqlite' ? connectSqlite(target.path) : connectPostgres(target.url, opts);
}
