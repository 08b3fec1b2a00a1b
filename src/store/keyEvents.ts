/**
 * Key-change notifications between instances sharing one PostgreSQL database.
 *
 * Writers call `KeyEventPublisher.changed()` inside the transaction that changes the keys:
 * PostgreSQL delivers a NOTIFY only when (and if) that transaction commits, so no instance
 * hears of a change that did not happen, and none misses one that did because the writer
 * crashed between commit and notify. On SQLite there is one instance and nothing to publish.
 */
import { type Kysely, sql } from 'kysely';
import type { Dialect } from './dialects.js';
import type { Database } from './schema.js';

export const KEY_EVENTS_CHANNEL = 'keyward_key_changes';
// NOTIFY payloads must stay under 8000 bytes: 300 uids of 24 characters, comma-separated, fit.
const UIDS_PER_NOTIFY = 300;

export class KeyEventPublisher {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  async changed(keyUids: string[]): Promise<void> {
    if (this.dialect !== 'postgres') return;
    for (let i = 0; i < keyUids.length; i += UIDS_PER_NOTIFY) {
      const payload = keyUids.slice(i, i + UIDS_PER_NOTIFY).join(',');
      await sql`select pg_notify(${KEY_EVENTS_CHANNEL}, ${payload})`.execute(this.db);
    }
  }
}
