import { type Kysely, type RawBuilder, sql } from 'kysely';
import { delayAfter, delaySteps, type GuessBudget } from '../domain/guessBudget.js';
import type { Database } from './schema.js';

/**
 * What a budget counts: one account from one address, one account from anywhere, one address
 * over every account, one account from one known device (its device cookie).
 */
export type GuessScope = 'pair' | 'account' | 'address' | 'device';

export type Reservation = { ok: true; failures: number } | { ok: false; retryAfterMs: number };

/**
 * Password guesses, counted per budget in the database so that every instance sharing it
 * counts against one budget. An attempt is reserved before its password is checked, by one
 * atomic upsert that counts it only if the budget allows it now: however many attempts arrive
 * together, on however many instances, each sees the count the ones before it left, so no more
 * than the budget ever reach the password check (a check-then-act limit lets a burst through).
 */
export class SignInAttemptRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Counts one more attempt against the budget if it allows one at `now`. */
  async reserve(scope: GuessScope, subject: string, budget: GuessBudget, now: number): Promise<Reservation> {
    const forgotten = sql<boolean>`sign_in_attempts.last_at <= ${now - budget.forgetAfterMs}`;
    const row = await this.db
      .insertInto('sign_in_attempts')
      .values({ scope, subject, failures: 1, last_at: now, prev_at: null })
      .onConflict((oc) =>
        oc
          .columns(['scope', 'subject'])
          .doUpdateSet({
            failures: sql<number>`case when ${forgotten} then 1 else sign_in_attempts.failures + 1 end`,
            prev_at: sql<number>`sign_in_attempts.last_at`,
            last_at: now,
          })
          .where(({ or }) => or([forgotten, sql<boolean>`sign_in_attempts.last_at + ${delayExpression(budget)} <= ${now}`])),
      )
      .returning('failures')
      .executeTakeFirst();
    if (row) return { ok: true, failures: Number(row.failures) };
    // Refused: the row was left as it was. Read it only to say how long to wait.
    const [wait] = await this.waits([{ scope, subject, budget }], now);
    return { ok: false, retryAfterMs: Math.max(wait!, 1000) };
  }

  /**
   * How long until each budget allows another attempt (0 when it does now), in one read: an
   * attempt that would be refused is turned away on this, without a write; only one that every
   * budget allows goes on to reserve (which checks again, atomically).
   */
  async waits(budgets: { scope: GuessScope; subject: string; budget: GuessBudget }[], now: number): Promise<number[]> {
    const rows = await this.db
      .selectFrom('sign_in_attempts')
      .select(['scope', 'subject', 'failures', 'last_at'])
      .where((eb) => eb.or(budgets.map((b) => eb.and([eb('scope', '=', b.scope), eb('subject', '=', b.subject)]))))
      .execute();
    return budgets.map(({ scope, subject, budget }) => {
      const row = rows.find((r) => r.scope === scope && r.subject === subject);
      if (!row || Number(row.last_at) <= now - budget.forgetAfterMs) return 0;
      return Math.max(Number(row.last_at) + delayAfter(Number(row.failures), budget) - now, 0);
    });
  }

  /**
   * Gives back the attempt reserved at `reservedAt`: it was not a failure (right password), or
   * was never tried (another budget refused it). Its delay then runs from the attempt before it
   * again, so that refused attempts never lengthen a wait (one budget refusing must not push
   * back another's, least of all the account's, which its owner shares). Should another
   * attempt have been reserved since, the later time stays: at worst a slightly longer wait.
   */
  async release(scope: GuessScope, subject: string, reservedAt: number): Promise<void> {
    await this.db
      .updateTable('sign_in_attempts')
      .set({
        failures: sql<number>`failures - 1`,
        last_at: sql<number>`case when last_at = ${reservedAt} and prev_at is not null then prev_at else last_at end`,
      })
      .where('scope', '=', scope)
      .where('subject', '=', subject)
      .where('failures', '>', 0)
      .execute();
  }

  /** Starts the budget over (the right password was given). */
  async clear(scope: GuessScope, subject: string): Promise<void> {
    await this.db.deleteFrom('sign_in_attempts').where('scope', '=', scope).where('subject', '=', subject).execute();
  }

  async failures(scope: GuessScope, subject: string): Promise<number> {
    const row = await this.db.selectFrom('sign_in_attempts').select('failures').where('scope', '=', scope).where('subject', '=', subject).executeTakeFirst();
    return row ? Number(row.failures) : 0;
  }

  /** Forgets the budgets of `scope` untouched since `before`: they would start over anyway. */
  async prune(scope: GuessScope, before: number): Promise<void> {
    await this.db.deleteFrom('sign_in_attempts').where('scope', '=', scope).where('last_at', '<=', before).execute();
  }
}

/**
 * The wait after `sign_in_attempts.failures` failures, as SQL: the budget's table of delays
 * written out as a CASE, so that the check and the count happen in the one statement. The
 * numbers are the budget's own (whole milliseconds, checked at start), written as literals:
 * PostgreSQL cannot type bare parameters inside a CASE.
 */
function delayExpression(budget: GuessBudget): RawBuilder<number> {
  const int = (n: number) => {
    if (!Number.isSafeInteger(n)) throw new Error(`not a whole number: ${n}`);
    return sql.lit(n);
  };
  const steps = delaySteps(budget);
  const whens = steps.map((ms, i) => sql`when sign_in_attempts.failures = ${int(budget.free + i)} then ${int(ms)}`);
  return sql<number>`(case when sign_in_attempts.failures < ${int(budget.free)} then 0 ${sql.join(whens, sql` `)} else ${int(steps.at(-1)!)} end)`;
}
