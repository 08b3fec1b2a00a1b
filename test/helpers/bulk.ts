/**
 * Many users or keys at once, written straight to the database in a few multi-row inserts, for
 * tests about listings longer than a page. Creating a thousand through the API would spend the
 * suite's time on what other tests already cover.
 */
import { newApiKey } from '../../src/domain/apiKeyFormat.js';
import { newUid } from '../../src/service/context.js';
import type { Store } from '../../src/store/store.js';

const CHUNK = 500;

/** Inserts `count` keys owned by `userUid`, created at `createdAt` (all the same: the order then rests on uids). */
export async function insertKeys(store: Store, opts: { secret: string; tenantUid: string; userUid: string; count: number; createdAt: number; prefix?: string }): Promise<string[]> {
  const uids: string[] = [];
  for (let start = 0; start < opts.count; start += CHUNK) {
    const rows = [];
    for (let i = start; i < Math.min(start + CHUNK, opts.count); i++) {
      const { hash, start: prefix } = newApiKey(opts.secret);
      const uid = newUid();
      uids.push(uid);
      rows.push({
        uid,
        tenant_uid: opts.tenantUid,
        user_uid: opts.userUid,
        name: `${opts.prefix ?? 'bulk'}-${i}`,
        description: '',
        start: prefix,
        hash,
        expiry: opts.createdAt + 30 * 86_400_000,
        is_active: 1,
        revoked_at: null,
        revoked_by_uid: null,
        revoked_by_admin: 0,
        created_at: opts.createdAt,
        updated_at: opts.createdAt,
        last_used_at: null,
      });
    }
    await store.connection.db.insertInto('api_keys').values(rows).execute();
  }
  return uids;
}

/** Inserts `count` users without passwords in the tenant, created at `createdAt`. */
export async function insertUsers(store: Store, opts: { tenantUid: string; count: number; createdAt: number; prefix?: string }): Promise<string[]> {
  const uids: string[] = [];
  for (let start = 0; start < opts.count; start += CHUNK) {
    const rows = [];
    for (let i = start; i < Math.min(start + CHUNK, opts.count); i++) {
      const uid = newUid();
      uids.push(uid);
      rows.push({
        uid,
        tenant_uid: opts.tenantUid,
        email: `${opts.prefix ?? 'bulk'}-${i}-${uid.slice(0, 6)}@example.com`,
        first_name: 'Bulk',
        last_name: String(i),
        roles: '[]',
        password_hash: '',
        created_at: opts.createdAt,
        updated_at: opts.createdAt,
        last_sign_in_at: null,
      });
    }
    await store.connection.db.insertInto('users').values(rows).execute();
  }
  return uids;
}
