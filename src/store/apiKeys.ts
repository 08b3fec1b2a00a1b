import { setImmediate } from 'node:timers/promises';
import { type ExpressionBuilder, type Kysely, type Selectable, sql } from 'kysely';
import { addressAllowlist } from '../domain/cidrs.js';
import type { ApiKey, ApiKeyWithOwner } from '../domain/model.js';
import { isTenantAdmin } from '../domain/model.js';
import type { KeyWithPrincipal } from '../domain/verification.js';
import { type Order, type Page, type PageRequest, type Position, pastIn, toPage, upToIn } from './paging.js';
import type { ApiKeysTable, Database } from './schema.js';
import { containsPattern } from './like.js';

type KeyRow = Selectable<ApiKeysTable> & { first_name: string; last_name: string; email: string };

function toKey(row: KeyRow): ApiKeyWithOwner {
  return {
    uid: row.uid,
    tenantUid: row.tenant_uid,
    userUid: row.user_uid,
    name: row.name,
    description: row.description,
    start: row.start,
    expiry: row.expiry,
    isActive: row.is_active === 1,
    revokedAt: row.revoked_at,
    revokedByUid: row.revoked_by_uid,
    revokedByAdmin: row.revoked_by_admin === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastUsedAt: row.last_used_at,
    scopes: JSON.parse(row.scopes),
    allowedCidrs: JSON.parse(row.allowed_cidrs),
    owner: { firstName: row.first_name, lastName: row.last_name, email: row.email },
  };
}

export interface KeyFilter {
  tenantUid: string;
  userUid?: string;
}

/**
 * Rows past or up to a position in the listing order (created_at, uid), either way. A row-value
 * comparison, which both databases read as one range of the (…, created_at, uid) indexes,
 * from the position on, in either direction.
 */
const byPosition = (at: Position, cmp: '>' | '<' | '<=' | '>=') => (eb: ExpressionBuilder<Database, 'api_keys'>) =>
  eb(eb.refTuple('api_keys.created_at', 'api_keys.uid'), cmp, eb.tuple(at.position, at.uid));

export interface KeyStateChange {
  isActive: boolean;
  revokedAt: number | null;
  revokedByUid: string | null;
  revokedByAdmin: boolean;
  updatedAt: number;
}

export class ApiKeyRepository {
  /** `rowLocks`: the database has SELECT ... FOR UPDATE (PostgreSQL). SQLite needs none: it has one writer. */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly rowLocks: boolean,
  ) {}

  private selectWithOwner() {
    return this.db
      .selectFrom('api_keys')
      .innerJoin('users', 'users.uid', 'api_keys.user_uid')
      .selectAll('api_keys')
      .select(['users.first_name', 'users.last_name', 'users.email']);
  }

  async insert(key: ApiKey, hash: string): Promise<void> {
    await this.db
      .insertInto('api_keys')
      .values({
        uid: key.uid,
        tenant_uid: key.tenantUid,
        user_uid: key.userUid,
        name: key.name,
        description: key.description,
        start: key.start,
        hash,
        expiry: key.expiry,
        is_active: key.isActive ? 1 : 0,
        revoked_at: null,
        revoked_by_uid: null,
        revoked_by_admin: 0,
        created_at: key.createdAt,
        updated_at: key.updatedAt,
        last_used_at: null,
        scopes: JSON.stringify(key.scopes),
        allowed_cidrs: JSON.stringify(key.allowedCidrs),
      })
      .execute();
  }

  /** With `forUpdate` inside a transaction, concurrent state changes to the key wait for this one. */
  async findByUid(uid: string, opts: { forUpdate?: boolean } = {}): Promise<ApiKeyWithOwner | undefined> {
    let q = this.selectWithOwner().where('api_keys.uid', '=', uid);
    if (opts.forUpdate && this.rowLocks) q = q.forUpdate('api_keys');
    const row = await q.executeTakeFirst();
    return row && toKey(row);
  }

  /** The verification lookup: one indexed read by hash, with the owner joined in. */
  async findByHash(hash: string): Promise<KeyWithPrincipal | undefined> {
    const row = await this.db
      .selectFrom('api_keys')
      .innerJoin('users', 'users.uid', 'api_keys.user_uid')
      .select([
        'api_keys.uid',
        'api_keys.expiry',
        'api_keys.is_active',
        'api_keys.scopes',
        'api_keys.allowed_cidrs',
        'users.uid as user_uid',
        'users.tenant_uid',
        'users.email',
        'users.roles',
      ])
      .where('api_keys.hash', '=', hash)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      // The allowlist is built here, once per read: the verification cache holds it with the key,
      // so a request costs its match only, never a parse.
      key: { uid: row.uid, expiry: row.expiry, isActive: row.is_active === 1, scopes: JSON.parse(row.scopes), allowlist: addressAllowlist(JSON.parse(row.allowed_cidrs)) },
      principal: {
        userUid: row.user_uid,
        tenantUid: row.tenant_uid,
        email: row.email,
        isAdmin: isTenantAdmin(JSON.parse(row.roles)),
      },
    };
  }

  /**
   * A page of keys in a stable order (created_at, uid), oldest or newest first, from `after` or
   * `offset`. Each page is one short indexed query, read along the index either way, so a
   * caller reading every key page by page holds no transaction and no connection between pages.
   */
  async page(filter: KeyFilter, page: PageRequest): Promise<Page<ApiKeyWithOwner>> {
    const rows = await this.pageQuery(filter, page).execute();
    return toPage(rows.map(toKey), page.limit, (k) => [k.createdAt, k.uid], page.order);
  }

  /** The statement `page` runs: tests check its query plan. */
  pageQuery(filter: KeyFilter, page: PageRequest) {
    const direction = page.order ?? 'asc';
    let q = this.selectWithOwner().where('api_keys.tenant_uid', '=', filter.tenantUid);
    if (filter.userUid !== undefined) q = q.where('api_keys.user_uid', '=', filter.userUid);
    if (page.after) q = q.where(byPosition(page.after, pastIn(page.order)));
    else if (page.offset) q = q.offset(page.offset);
    return q.orderBy('api_keys.created_at', direction).orderBy('api_keys.uid', direction).limit(page.limit + 1);
  }

  /** How many keys match; with `upTo`, how many come at or before that position in `order`. */
  async count(filter: KeyFilter, upTo?: Position, order?: Order): Promise<number> {
    let q = this.db.selectFrom('api_keys').where('api_keys.tenant_uid', '=', filter.tenantUid);
    if (filter.userUid !== undefined) q = q.where('api_keys.user_uid', '=', filter.userUid);
    if (upTo) q = q.where(byPosition(upTo, upToIn(order)));
    const row = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async update(
    uid: string,
    fields: { name: string; description: string; expiry: number; scopes: readonly string[]; allowedCidrs: readonly string[]; updatedAt: number },
  ): Promise<void> {
    await this.db
      .updateTable('api_keys')
      .set({
        name: fields.name,
        description: fields.description,
        expiry: fields.expiry,
        scopes: JSON.stringify(fields.scopes),
        allowed_cidrs: JSON.stringify(fields.allowedCidrs),
        updated_at: fields.updatedAt,
      })
      .where('uid', '=', uid)
      .execute();
  }

  async setState(uid: string, change: KeyStateChange): Promise<void> {
    await this.db
      .updateTable('api_keys')
      .set({
        is_active: change.isActive ? 1 : 0,
        revoked_at: change.revokedAt,
        revoked_by_uid: change.revokedByUid,
        revoked_by_admin: change.revokedByAdmin ? 1 : 0,
        updated_at: change.updatedAt,
      })
      .where('uid', '=', uid)
      .execute();
  }

  /**
   * How many of the tenant's keys hold exactly `scope` (not through `*` or `res:*`): a scope a
   * key holds cannot leave the catalogue.
   */
  async countHolding(tenantUid: string, scope: string): Promise<number> {
    // The LIKE narrows the rows read (a JSON array holds a scope name as "name": names have no
    // character JSON escapes); the lists are then parsed, so only an exact element counts.
    const rows = await this.db
      .selectFrom('api_keys')
      .select('scopes')
      .where('tenant_uid', '=', tenantUid)
      .where(sql<boolean>`scopes like ${containsPattern(JSON.stringify(scope))} escape '\\'`)
      .execute();
    return rows.filter((r) => (JSON.parse(r.scopes) as string[]).includes(scope)).length;
  }

  async delete(uid: string): Promise<void> {
    await this.db.deleteFrom('api_keys').where('uid', '=', uid).execute();
  }

  /** Deletes every key of the user and returns the uids of exactly those deleted, to be announced. */
  /** The uids of a user's keys; hold the user's row lock for the answer to stay complete. */
  async uidsOfUser(userUid: string): Promise<string[]> {
    const rows = await this.db.selectFrom('api_keys').select('uid').where('user_uid', '=', userUid).execute();
    return rows.map((r) => r.uid);
  }

  async deleteOfUser(userUid: string): Promise<string[]> {
    const rows = await this.db.deleteFrom('api_keys').where('user_uid', '=', userUid).returning('uid').execute();
    return rows.map((r) => r.uid);
  }

  /**
   * Writes last-used times collected in memory (see LastUsedRecorder for why they are batched),
   * one multi-row UPDATE per chunk of `chunkSize` keys. Called outside a transaction, each chunk
   * commits on its own: SQLite's single writer (and on PostgreSQL, the rows' locks) is held for
   * one chunk at a time, so a revoke made during a flush of 100,000 keys waits for one chunk, not
   * the whole flush. A time never moves backwards, and a key deleted meanwhile matches no row.
   */
  async recordLastUsed(uses: Map<string, number>, chunkSize = LAST_USED_CHUNK): Promise<void> {
    const all = [...uses];
    for (let i = 0; i < all.length; i += chunkSize) {
      // better-sqlite3 runs each statement synchronously: without a turn of the event loop between
      // chunks, the whole flush would be one run of microtasks and no request would be read until
      // it ended.
      if (i > 0) await setImmediate();
      // The cast types the VALUES column on PostgreSQL, which would otherwise infer text.
      const rows = all.slice(i, i + chunkSize).map(([uid, at]) => sql`(${uid}, cast(${at} as bigint))`);
      // UPDATE ... FROM with a named CTE reads the same on both databases (SQLite since 3.33).
      await sql`
        with v(uid, at) as (values ${sql.join(rows)})
        update api_keys set last_used_at = v.at
        from v
        where api_keys.uid = v.uid and (api_keys.last_used_at is null or api_keys.last_used_at < v.at)
      `.execute(this.db);
    }
  }
}

/**
 * Keys per last-used statement: two bound parameters each, far below SQLite's 32,766 and
 * PostgreSQL's 65,535, and short enough that a write waiting behind one chunk barely notices.
 */
export const LAST_USED_CHUNK = 500;
