/** PostgreSQL: shared by every instance, with row locks and LISTEN/NOTIFY between them. */
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { StoreCapabilities } from './capabilities.js';
import type { Connection } from './dialects.js';
import { PgNotificationListener } from './notificationListener.js';
import type { Database } from './schema.js';

// PostgreSQL returns bigint (int8, oid 20) as a string; our times and counts fit a double.
const INT8_OID = 20;
const types: pg.CustomTypesConfig = {
  getTypeParser: (oid, format) => (oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)),
};

const errorCode = (err: unknown) => (err as { code?: unknown } | undefined)?.code;

export function connectPostgres(url: string, opts: { poolSize?: number } = {}): Connection {
  const pgConfig: pg.PoolConfig = { connectionString: url, types };
  const pool = new pg.Pool({ ...pgConfig, max: opts.poolSize ?? 10 });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const capabilities: StoreCapabilities = {
    rowLocks: true,
    sharedByProcesses: true,
    notifications: {
      // NOTIFY refuses a payload of 8000 bytes or more (in the default build).
      maxPayloadBytes: 7999,
      listen: (channel, listenOpts) => new PgNotificationListener(pgConfig, channel, listenOpts),
    },
    serialColumn: { dataType: 'bigserial', build: (column) => column.primaryKey() },
    isUniqueViolation: (err) => errorCode(err) === '23505',
    isForeignKeyViolation: (err) => errorCode(err) === '23503',
  };
  return {
    db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }),
    capabilities,
    notes: [],
    // Inside a transaction, PostgreSQL holds the notification until commit and drops it on rollback.
    notify: async (db, channel, payload) => {
      await sql`select pg_notify(${channel}, ${payload})`.execute(db);
    },
  };
}
