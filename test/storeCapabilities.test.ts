/**
 * What each database says it can do, checked against what it does; and that nothing above
 * src/store asks which database it is instead.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isSharedByProcesses } from '../src/store/databaseUrl.js';
import { Store } from '../src/store/store.js';
import { databases, type TestDatabase } from './helpers/databases.js';

const expected = {
  sqlite: { rowLocks: false, sharedByProcesses: false, notifications: false },
  postgres: { rowLocks: true, sharedByProcesses: true, notifications: true },
};

for (const factory of databases()) {
  describe(`store capabilities [${factory.name}]`, () => {
    let db: TestDatabase;
    let store: Store;
    before(async () => {
      db = await factory.create();
      store = await Store.open(db.url);
    });
    after(async () => {
      await store?.close();
      await db?.drop();
    });

    it('says what the database can do', () => {
      const c = store.capabilities;
      assert.deepEqual({ rowLocks: c.rowLocks, sharedByProcesses: c.sharedByProcesses, notifications: c.notifications !== undefined }, expected[factory.name]);
      assert.equal(isSharedByProcesses(db.url), c.sharedByProcesses, 'the answer before connecting is the same');
      if (c.notifications) assert.ok(c.notifications.maxPayloadBytes < 8000, "under PostgreSQL's NOTIFY limit");
    });

    it('recognises its own unique and foreign-key violations, and tells them apart', async () => {
      const { isUniqueViolation, isForeignKeyViolation } = store.capabilities;
      const tenant = { uid: `t-${Math.random()}`, name: `dup-${Math.random()}`, createdAt: 1 };
      await store.tenants.insert(tenant);
      const unique = await store.tenants.insert({ ...tenant, uid: `t-${Math.random()}` }).then(
        () => assert.fail('a second tenant with the name was written'),
        (err: unknown) => err,
      );
      const user = { uid: `u-${Math.random()}`, kind: 'person' as const, tenantUid: 'no-such-tenant', email: `${Math.random()}@example.com`, firstName: '', lastName: '', roles: [], passwordHash: '', createdAt: 1, updatedAt: 1, lastSignInAt: null };
      const foreign = await store.users.insert(user).then(
        () => assert.fail('a user of a missing tenant was written'),
        (err: unknown) => err,
      );
      assert.deepEqual([isUniqueViolation(unique), isForeignKeyViolation(unique)], [true, false]);
      assert.deepEqual([isUniqueViolation(foreign), isForeignKeyViolation(foreign)], [false, true]);
      for (const other of [new Error('x'), undefined, null, 'text', { code: 42 }]) {
        assert.deepEqual([isUniqueViolation(other), isForeignKeyViolation(other)], [false, false]);
      }
    });

    it('gives migrations an auto-incrementing key: audit sequence numbers rise', async () => {
      const entry = (n: number) => ({ uid: `a-${n}-${Math.random()}`, tenantUid: null, at: n, action: 'test', actor: { userUid: null, email: null, apiKeyUid: null }, resource: { kind: 'test', uid: null, name: null, ownerUid: null }, address: null, details: {} });
      await store.audits.insert(entry(1));
      await store.audits.insert(entry(2));
      const rows = await store.connection.db.selectFrom('audits').select(['seq', 'at']).where('action', '=', 'test').orderBy('seq').execute();
      assert.deepEqual(rows.map((r) => r.at), [1, 2]);
      assert.ok(Number(rows[1].seq) > Number(rows[0].seq));
    });
  });
}

describe('nothing above src/store names a database', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
    });

  it('no dialect, and no comparison with a database name, outside src/store', () => {
    const found: string[] = [];
    for (const file of files('src')) {
      if (file.startsWith(join('src', 'store'))) continue;
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          const code = line.replace(/\/\/.*$/, '').replace(/^\s*\*.*$/, '');
          if (/\bdialect\b|['"`](postgres|postgresql|sqlite)['"`]|store\/(sqlite|postgres)\.js/i.test(code)) found.push(`${file}:${i + 1}: ${line.trim()}`);
        });
    }
    assert.deepEqual(found, []);
  });
});
