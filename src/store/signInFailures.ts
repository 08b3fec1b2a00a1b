import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * Failed sign-ins, kept in the database rather than in memory so that the limit holds across
 * every instance sharing it: an attacker gains nothing by spreading guesses over instances.
 */
export class SignInFailureRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async record(email: string, address: string, at: number): Promise<void> {
    await this.db.insertInto('sign_in_failures').values({ email, address, at }).execute();
  }

  /** Failures since `since`, and the oldest of them (when the window starts to free up). */
  async since(column: 'email' | 'address', value: string, since: number): Promise<{ count: number; oldest: number | null }> {
    const row = await this.db
      .selectFrom('sign_in_failures')
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.min('at').as('oldest')])
      .where(column, '=', value)
      .where('at', '>', since)
      .executeTakeFirstOrThrow();
    return { count: Number(row.n), oldest: row.oldest === null ? null : Number(row.oldest) };
  }

  async clearEmail(email: string): Promise<void> {
    await this.db.deleteFrom('sign_in_failures').where('email', '=', email).execute();
  }

  async prune(before: number): Promise<void> {
    await this.db.deleteFrom('sign_in_failures').where('at', '<=', before).execute();
  }
}
