import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import { toUser, type UserWithPassword } from './users.js';

export interface Session {
  uid: string;
  userUid: string;
  createdAt: number;
  expiresAt: number;
}

/** Signed-in sessions. A user's sessions go when the user does (ON DELETE CASCADE). */
export class SessionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(s: Session): Promise<void> {
    await this.db.insertInto('sessions').values({ uid: s.uid, user_uid: s.userUid, created_at: s.createdAt, expires_at: s.expiresAt }).execute();
  }

  /**
   * The session and its user, in one query: this runs on every request made with a token or
   * the cookie, where the user was already read each time.
   */
  async findWithUser(uid: string): Promise<{ session: Session; user: UserWithPassword } | undefined> {
    const row = await this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.uid', 'sessions.user_uid')
      .selectAll('users')
      .select(['sessions.uid as session_uid', 'sessions.created_at as session_created_at', 'sessions.expires_at as session_expires_at'])
      .where('sessions.uid', '=', uid)
      .executeTakeFirst();
    if (!row) return undefined;
    const { session_uid, session_created_at, session_expires_at, ...user } = row;
    return {
      session: { uid: session_uid, userUid: user.uid, createdAt: Number(session_created_at), expiresAt: Number(session_expires_at) },
      user: toUser(user),
    };
  }

  /** Ends one session of `userUid`; false when there was none. */
  async delete(uid: string, userUid: string): Promise<boolean> {
    const result = await this.db.deleteFrom('sessions').where('uid', '=', uid).where('user_uid', '=', userUid).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Ends every session of the user but `except` (the caller's own, when it changes its password); returns how many. */
  async deleteForUser(userUid: string, except?: string): Promise<number> {
    let q = this.db.deleteFrom('sessions').where('user_uid', '=', userUid);
    if (except !== undefined) q = q.where('uid', '<>', except);
    const result = await q.executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async prune(now: number): Promise<void> {
    await this.db.deleteFrom('sessions').where('expires_at', '<=', now).execute();
  }
}
