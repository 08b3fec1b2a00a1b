import { type Kysely, sql } from 'kysely';
import type { Database } from './schema.js';

/**
 * Failed API key and token presentations, counted per client address and fixed window in the
 * database, so that every instance sharing it sees the same count: spreading guesses over
 * instances, or restarting one, buys an attacker nothing.
 */
export class CredentialFailureRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Counts one more failure for `address` in the window starting at `windowStart`; returns the window's total. */
  async add(address: string, windowStart: number): Promise<number> {
    const row = await this.db
      .insertInto('credential_failures')
      .values({ address, window_start: windowStart, failures: 1 })
      .onConflict((oc) => oc.columns(['address', 'window_start']).doUpdateSet({ failures: sql<number>`credential_failures.failures + 1` }))
      .returning('failures')
      .executeTakeFirstOrThrow();
    return Number(row.failures);
  }

  async prune(before: number): Promise<void> {
    await this.db.deleteFrom('credential_failures').where('window_start', '<', before).execute();
  }
}
