/**
 * Store.transaction's after-commit hooks, on both databases: they run once the writes are
 * committed, and never when the transaction rolls back, whether its function threw or its
 * commit failed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { Store, type Transaction } from '../src/store/store.js';
import { databases, type TestDatabase } from './helpers/databases.js';

for (const factory of databases()) {
  describe(`unit of work: after-commit hooks [${factory.name}]`, () => {
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

    let seq = 0;
    const tenant = () => ({ uid: `t-${++seq}-${Math.random().toString(36).slice(2)}`, name: `tenant-${seq}-${Math.random()}`, createdAt: seq });

    it('runs hooks after the commit, in the order they were added, before transaction() returns', async () => {
      const t = tenant();
      const seen: string[] = [];
      await store.transaction(async (tx) => {
        await tx.tenants.insert(t);
        // Read outside the transaction: it sees the row only once it is committed (and on
        // SQLite, whose one connection the transaction holds, the read could not even run before).
        tx.afterCommit(async () => {
          seen.push((await store.tenants.findByUid(t.uid)) ? 'first: committed' : 'first: not committed');
        });
        tx.afterCommit(() => {
          seen.push('second');
        });
        assert.deepEqual(seen, [], 'nothing runs before the commit');
      });
      assert.deepEqual(seen, ['first: committed', 'second']);
    });

    it('never runs them when the transaction rolls back', async () => {
      const t = tenant();
      let ran = false;
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.tenants.insert(t);
          tx.afterCommit(() => {
            ran = true;
          });
          throw new Error('changed my mind');
        }),
        /changed my mind/,
      );
      assert.equal(ran, false);
      assert.equal(await store.tenants.findByUid(t.uid), undefined, 'and nothing was written');
    });

    it('never runs them when the commit itself fails', async () => {
      const t = tenant();
      let ran = false;
      let bodyFinished = false;
      await assert.rejects(
        store.transaction(async (tx) => {
          tx.afterCommit(() => {
            ran = true;
          });
          await tx.tenants.insert(t);
          // A deferred foreign key is checked at COMMIT, which then fails (the same SQL on both databases).
          const trx = tx['db'];
          await sql`create temp table parent_rows (id integer primary key)`.execute(trx);
          await sql`create temp table child_rows (id integer references parent_rows (id) deferrable initially deferred)`.execute(trx);
          await sql`insert into child_rows (id) values (1)`.execute(trx);
          bodyFinished = true;
        }),
        (err) => store.capabilities.isForeignKeyViolation(err),
      );
      assert.equal(bodyFinished, true, 'the failure came at the commit, not before');
      assert.equal(ran, false);
      assert.equal(await store.tenants.findByUid(t.uid), undefined);
    });

    it('runs every hook even if one throws, then throws the first error; the writes stand', async () => {
      const t = tenant();
      const ran: number[] = [];
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.tenants.insert(t);
          tx.afterCommit(() => {
            ran.push(1);
            throw new Error('first hook failed');
          });
          tx.afterCommit(() => {
            ran.push(2);
          });
          tx.afterCommit(async () => {
            ran.push(3);
            throw new Error('third hook failed');
          });
        }),
        /first hook failed/,
      );
      assert.deepEqual(ran, [1, 2, 3]);
      assert.ok(await store.tenants.findByUid(t.uid));
    });

    it('a transaction that has ended takes no more hooks or notifications', async () => {
      let leaked: Transaction | undefined;
      await store.transaction(async (tx) => {
        leaked = tx;
      });
      assert.throws(() => leaked!.afterCommit(() => {}), /ended/);
      await assert.rejects(leaked!.notify('keyward_test', 'late'), /ended|no notifications/);
    });
  });
}
