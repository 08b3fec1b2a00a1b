import type { Kysely, Selectable } from 'kysely';
import type { User } from '../domain/model.js';
import { type Page, type PageRequest, toPage } from './paging.js';
import type { Database, UsersTable } from './schema.js';

export interface UserWithPassword extends User {
  passwordHash: string;
}

export function toUser(row: Selectable<UsersTable>): UserWithPassword {
  return {
    uid: row.uid,
    tenantUid: row.tenant_uid,
    email: row.email,
    firstName: row.first_name,
    lastName: row.last_name,
    roles: JSON.parse(row.roles),
    passwordHash: row.password_hash,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastSignInAt: row.last_sign_in_at,
  };
}

export class UserRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(user: UserWithPassword): Promise<void> {
    await this.db
      .insertInto('users')
      .values({
        uid: user.uid,
        tenant_uid: user.tenantUid,
        email: user.email,
        first_name: user.firstName,
        last_name: user.lastName,
        roles: JSON.stringify(user.roles),
        password_hash: user.passwordHash,
        created_at: user.createdAt,
        updated_at: user.updatedAt,
        last_sign_in_at: null,
      })
      .execute();
  }

  async findByUid(uid: string): Promise<UserWithPassword | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('uid', '=', uid).executeTakeFirst();
    return row && toUser(row);
  }

  async findByEmail(email: string): Promise<UserWithPassword | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
    return row && toUser(row);
  }

  async list(tenantUid: string, page: PageRequest): Promise<Page<UserWithPassword> & { count: number }> {
    let q = this.db.selectFrom('users').selectAll().where('tenant_uid', '=', tenantUid);
    const after = page.after;
    if (after) {
      q = q.where((eb) =>
        eb.or([eb('created_at', '>', after.position), eb.and([eb('created_at', '=', after.position), eb('uid', '>', after.uid)])]),
      );
    }
    const rows = await q.orderBy('created_at').orderBy('uid').limit(page.limit + 1).execute();
    const total = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_uid', '=', tenantUid)
      .executeTakeFirstOrThrow();
    return { ...toPage(rows.map(toUser), page.limit, (u) => [u.createdAt, u.uid]), count: Number(total.n) };
  }

  async recordSignIn(uid: string, at: number): Promise<void> {
    await this.db.updateTable('users').set({ last_sign_in_at: at }).where('uid', '=', uid).execute();
  }

  async setPasswordHash(uid: string, passwordHash: string, at: number): Promise<boolean> {
    const result = await this.db.updateTable('users').set({ password_hash: passwordHash, updated_at: at }).where('uid', '=', uid).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Deletes the user; their API keys go with them (ON DELETE CASCADE). */
  async delete(uid: string): Promise<boolean> {
    const result = await this.db.deleteFrom('users').where('uid', '=', uid).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
