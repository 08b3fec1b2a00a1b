import { type ExpressionBuilder, type Kysely, type Selectable, sql } from 'kysely';
import { isTenantAdmin, type User, type UserKind } from '../domain/model.js';
import { containsIgnoringCase } from './like.js';
import { type Order, type Page, type PageRequest, type Position, pastIn, toPage, upToIn } from './paging.js';
import type { Database, UsersTable } from './schema.js';

export interface UserWithPassword extends User {
  passwordHash: string;
}

export function toUser(row: Selectable<UsersTable>): UserWithPassword {
  return {
    uid: row.uid,
    // Anything but 'service' is a person: the column's default, and the only other value written.
    kind: row.kind === 'service' ? 'service' : ('person' as UserKind),
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

/**
 * Rows past or up to a position in the listing order (created_at, uid), either way. A row-value
 * comparison, which both databases read as one range of the (…, created_at, uid) indexes,
 * from the position on, in either direction.
 */
const byPosition = (at: Position, cmp: '>' | '<' | '<=' | '>=') => (eb: ExpressionBuilder<Database, 'users'>) =>
  eb(eb.refTuple('created_at', 'uid'), cmp, eb.tuple(at.position, at.uid));

/** Which users a listing holds: a tenant's, and with `search`, those it matches. */
export interface UserFilter {
  tenantUid: string;
  /** Part of the email, or of "first last", in any case. */
  search?: string;
}

/**
 * Users whose email, or "first last" name, contains the text. No index serves a contains-search:
 * a page reads the tenant's users in listing order until it has `limit` matches, and the count
 * reads them all; for the console's pickers (a tenant's people, 20 at a time) that is quick.
 */
const matching = (text: string) => (eb: ExpressionBuilder<Database, 'users'>) =>
  eb.or([containsIgnoringCase(sql`${sql.ref('email')}`, text), containsIgnoringCase(sql`${sql.ref('first_name')} || ' ' || ${sql.ref('last_name')}`, text)]);

/** The fields a user update may change. */
export interface UserFields {
  email: string;
  firstName: string;
  lastName: string;
  roles: string[];
  updatedAt: number;
}

export class UserRepository {
  /** `rowLocks`: the database has SELECT ... FOR UPDATE (PostgreSQL). SQLite needs none: it has one writer. */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly rowLocks = false,
  ) {}

  async insert(user: UserWithPassword): Promise<void> {
    await this.db
      .insertInto('users')
      .values({
        uid: user.uid,
        kind: user.kind,
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

  /**
   * Inside a transaction, `lock` holds the row until commit: `update` to delete the user,
   * `noKeyUpdate` to add a key for them. The two conflict, so a deletion and a key creation for
   * one user take turns; `noKeyUpdate` also serialises key creations for one user, which a shared
   * lock would not, but shared locks that keep overlapping would starve a deletion indefinitely.
   * Neither blocks the foreign-key checks of other rows that refer to the user.
   */
  async findByUid(uid: string, opts: { lock?: 'update' | 'noKeyUpdate' } = {}): Promise<UserWithPassword | undefined> {
    let q = this.db.selectFrom('users').selectAll().where('uid', '=', uid);
    if (this.rowLocks && opts.lock === 'update') q = q.forUpdate();
    if (this.rowLocks && opts.lock === 'noKeyUpdate') q = q.forNoKeyUpdate();
    const row = await q.executeTakeFirst();
    return row && toUser(row);
  }

  async findByEmail(email: string): Promise<UserWithPassword | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
    return row && toUser(row);
  }

  /** A page of the tenant's users in a stable order (created_at, uid), oldest or newest first, from `after` or `offset`. */
  async page(filter: UserFilter, page: PageRequest): Promise<Page<UserWithPassword>> {
    const rows = await this.pageQuery(filter, page).execute();
    return toPage(rows.map(toUser), page.limit, (u) => [u.createdAt, u.uid], page.order);
  }

  /** The statement `page` runs: tests check its query plan. */
  pageQuery(filter: UserFilter, page: PageRequest) {
    const direction = page.order ?? 'asc';
    let q = this.db.selectFrom('users').selectAll().where('tenant_uid', '=', filter.tenantUid);
    if (filter.search) q = q.where(matching(filter.search));
    if (page.after) q = q.where(byPosition(page.after, pastIn(page.order)));
    else if (page.offset) q = q.offset(page.offset);
    return q.orderBy('created_at', direction).orderBy('uid', direction).limit(page.limit + 1);
  }

  /** How many users match; with `upTo`, how many come at or before that position in `order`. */
  async count(filter: UserFilter, upTo?: Position, order?: Order): Promise<number> {
    let q = this.db.selectFrom('users').where('tenant_uid', '=', filter.tenantUid);
    if (filter.search) q = q.where(matching(filter.search));
    if (upTo) q = q.where(byPosition(upTo, upToIn(order)));
    const row = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async update(uid: string, fields: UserFields): Promise<void> {
    await this.db
      .updateTable('users')
      .set({
        email: fields.email,
        first_name: fields.firstName,
        last_name: fields.lastName,
        roles: JSON.stringify(fields.roles),
        updated_at: fields.updatedAt,
      })
      .where('uid', '=', uid)
      .execute();
  }

  /** Whether the tenant has a tenant admin other than `exceptUid`. */
  async hasOtherAdmin(tenantUid: string, exceptUid: string): Promise<boolean> {
    // The LIKE narrows the rows read; the roles are then parsed, so a role merely containing
    // the words cannot count as one.
    const rows = await this.db
      .selectFrom('users')
      .select('roles')
      .where('tenant_uid', '=', tenantUid)
      .where('uid', '!=', exceptUid)
      .where('roles', 'like', '%tenant-admin%')
      .execute();
    return rows.some((r) => isTenantAdmin(JSON.parse(r.roles)));
  }

  async recordSignIn(uid: string, at: number): Promise<void> {
    await this.db.updateTable('users').set({ last_sign_in_at: at }).where('uid', '=', uid).execute();
  }

  async setPasswordHash(uid: string, passwordHash: string, at: number): Promise<boolean> {
    const result = await this.db.updateTable('users').set({ password_hash: passwordHash, updated_at: at }).where('uid', '=', uid).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Deletes the user. Delete their API keys first with `ApiKeyRepository.deleteOfUser`, which says
   * which went: the ON DELETE CASCADE would take them silently, and unannounced.
   */
  async delete(uid: string): Promise<boolean> {
    const result = await this.db.deleteFrom('users').where('uid', '=', uid).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
