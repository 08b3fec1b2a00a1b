/**
 * What the database behind a store can do, asked as questions rather than by its name (after
 * Kysely's DialectAdapter, which answers `supportsReturning` instead of saying "PostgreSQL").
 * Code above src/store reads these and never learns which database it runs on; each database
 * answers them in its own file (sqlite.ts, postgres.ts).
 */
import type { ColumnDataType, ColumnDefinitionBuilder } from 'kysely';

export interface StoreCapabilities {
  /**
   * Rows can be held until commit (SELECT ... FOR UPDATE and its kin). Without them (SQLite)
   * there is one writer at a time, which serialises what the locks would.
   */
  readonly rowLocks: boolean;
  /**
   * Several processes may use this database at once. They then must agree on the server secret
   * (a key hashed by one must verify on another) and hear each other's changes.
   */
  readonly sharedByProcesses: boolean;
  /**
   * Messages to every process listening, sent when the sending transaction commits and never if
   * it rolls back (PostgreSQL's LISTEN/NOTIFY). Absent where one process has the database.
   * Sending is `Transaction.notify`, inside the unit of work.
   */
  readonly notifications?: Notifications;
  /** An auto-incrementing integer primary key, for migrations. */
  readonly serialColumn: SerialColumn;
  /** A unique or primary key constraint refused the write. */
  isUniqueViolation(err: unknown): boolean;
  /** A row refers to one that is gone (for example a key for a user deleted meanwhile). */
  isForeignKeyViolation(err: unknown): boolean;
}

export interface SerialColumn {
  dataType: ColumnDataType;
  build(column: ColumnDefinitionBuilder): ColumnDefinitionBuilder;
}

export interface Notifications {
  /** The most bytes one payload may hold (PostgreSQL refuses 8000 or more). */
  readonly maxPayloadBytes: number;
  /** A dedicated connection listening on `channel`; nothing happens before `start()`. */
  listen(channel: string, opts: ListenOptions): NotificationListener;
}

export interface ListenOptions {
  onNotification(payload: string): void;
  /** Called each time the channel is (re)established: anything sent while it was down was missed. */
  onListening(): void;
  onError(err: unknown): void;
  /** How often the connection proves it is alive. */
  heartbeatMs?: number;
  /** How long after its last proof of life the channel stops counting as healthy. */
  staleAfterMs?: number;
  /** A monotonic clock, in milliseconds. */
  now?: () => number;
  timers?: Timers;
}

export interface NotificationListener {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** True while notifications are known to be arriving: connected, and alive recently. */
  healthy(): boolean;
}

/** The timers a listener schedules its heartbeat and reconnection with: injectable, so tests need no sleeps. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}
