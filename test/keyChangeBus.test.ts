/**
 * The key-change bus contract, run against every implementation, as Kysely runs its suite over
 * every dialect. What a subscriber may rely on is written in src/service/keyChanges/bus.ts;
 * each promise there has a test here.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { AuthRoutesChanged, KeyChangeBus, KeyChangeListener, KeyEvent, KeysChanged } from '../src/service/keyChanges/bus.js';
import { InProcessKeyChangeBus } from '../src/service/keyChanges/inProcess.js';
import { KEY_EVENTS_CHANNEL, NotificationKeyChangeBus } from '../src/service/keyChanges/overNotifications.js';
import { createServices } from '../src/service/services.js';
import { LISTENER_APPLICATION_NAME } from '../src/store/notificationListener.js';
import { Store, type Transaction } from '../src/store/store.js';
import { databases, type TestDatabase } from './helpers/databases.js';
import { waitFor } from './helpers/timers.js';

interface Implementation {
  name: string;
  database: TestDatabase['name'];
  /** Whether other processes on the same database hear its events. */
  reachesOtherProcesses: boolean;
  make(store: Store, onError: (err: unknown) => void): KeyChangeBus;
}

const implementations: Implementation[] = [
  { name: 'in-process', database: 'sqlite', reachesOtherProcesses: false, make: (_store, onError) => new InProcessKeyChangeBus({ onError }) },
  {
    name: 'LISTEN/NOTIFY',
    database: 'postgres',
    reachesOtherProcesses: true,
    make: (store, onError) => new NotificationKeyChangeBus(store.capabilities.notifications!, { onError }),
  },
];

/**
 * A subscriber that writes down what it hears. Instances share one database and the tests one
 * instance, so each test reads only the events about its own keys (`about`): a notification
 * from an earlier test may still arrive.
 */
class Recorder implements KeyChangeListener {
  private heard: KeyEvent[] = [];
  missedCount = 0;
  event(event: KeyEvent) {
    this.heard.push(event);
  }
  missed() {
    this.missedCount++;
  }
  /** Everything heard about the keys of `events`, in order. */
  about(...events: KeysChanged[]): KeysChanged[] {
    const keys = new Set(events.flatMap((e) => e.keyUids));
    return this.heard.filter((e): e is KeysChanged => e.type === 'keys.changed' && e.keyUids.some((k) => keys.has(k)));
  }
  /** Every route-rules event heard about `tenantUid`, in order. */
  aboutTenant(tenantUid: string): AuthRoutesChanged[] {
    return this.heard.filter((e): e is AuthRoutesChanged => e.type === 'authRoutes.changed' && e.tenantUid === tenantUid);
  }
  /** The same, each distinct event once, in the order first heard (a bus delivers at least once). */
  distinctAbout(...events: KeysChanged[]): KeysChanged[] {
    const seen = new Set<string>();
    return this.about(...events).filter((e) => {
      const id = `${e.type} ${e.reason} ${e.keyUids.join(',')}`;
      return seen.has(id) ? false : (seen.add(id), true);
    });
  }
}

const uid = () => randomBytes(12).toString('hex');
const changed = (reason: 'revoked' | 'deleted' = 'revoked', keyUids = [uid()]): KeysChanged => ({ type: 'keys.changed', keyUids, reason });

/** One instance: its own store (connection pool), its own bus, a recorder subscribed. */
async function instance(impl: Implementation, url: string) {
  const store = await Store.open(url);
  const errors: unknown[] = [];
  const bus = impl.make(store, (err) => errors.push(err));
  const heard = new Recorder();
  bus.subscribe(heard);
  await bus.start();
  return {
    store,
    bus,
    heard,
    errors,
    /** Publishes `events` in one committed transaction that also writes a row. */
    async publish(...events: KeyEvent[]) {
      await store.transaction(async (tx) => {
        await tx.tenants.insert({ uid: uid(), name: uid(), createdAt: 1 });
        for (const e of events) await bus.publish(tx, e);
      });
    },
    async close() {
      await bus.stop();
      await store.close();
    },
  };
}

for (const impl of implementations) {
  const factory = databases().find((d) => d.name === impl.database);
  describe(`key-change bus contract: ${impl.name} [${impl.database}]`, { skip: !factory && `${impl.database} not available` }, () => {
    let db: TestDatabase;
    let a: Awaited<ReturnType<typeof instance>>;
    before(async () => {
      db = await factory!.create();
      a = await instance(impl, db.url);
    });
    after(async () => {
      await a?.close();
      await db?.drop();
    });

    it('is what createServices picks for this database, from its capabilities', async () => {
      const services = createServices(a.store, { secret: 'contract-secret-0123456789' });
      assert.equal(services.keyChanges.constructor, impl.make(a.store, () => {}).constructor);
    });

    it('delivers a published event to this instance only once the transaction has committed, before transaction() returns', async () => {
      const event = changed();
      const published = structuredClone(event);
      await a.store.transaction(async (tx) => {
        await tx.tenants.insert({ uid: uid(), name: uid(), createdAt: 1 });
        await a.bus.publish(tx, event);
        // The caller's array, changed after publishing, must not change what is delivered.
        event.keyUids.push(uid());
        await tx.tenants.insert({ uid: uid(), name: uid(), createdAt: 1 });
        assert.deepEqual(a.heard.about(published), [], 'nothing is heard before the commit');
      });
      const heard = a.heard.about(published);
      assert.ok(heard.length >= 1, 'heard by the time transaction() returns');
      for (const e of heard) assert.deepEqual(e, published);
    });

    it('a transaction that rolls back publishes nothing, here or elsewhere', async () => {
      const b = impl.reachesOtherProcesses ? await instance(impl, db.url) : undefined;
      try {
        const rolledBack = changed('deleted');
        await assert.rejects(
          a.store.transaction(async (tx) => {
            await a.bus.publish(tx, rolledBack);
            throw new Error('rolled back');
          }),
          /rolled back/,
        );
        // Then a committed one: whatever the rolled-back transaction sent would arrive before it.
        const marker = changed();
        await a.publish(marker);
        if (b) await waitFor(() => b.heard.about(marker).length > 0, 'the marker on the other instance');
        assert.deepEqual(a.heard.distinctAbout(rolledBack, marker), [marker]);
        if (b) assert.deepEqual(b.heard.about(rolledBack, marker), [marker]);
      } finally {
        await b?.close();
      }
    });

    it('other processes on the same database hear it: in publish order within a transaction, in commit order across them', { skip: !impl.reachesOtherProcesses && 'one process has the database: nobody else to tell' }, async () => {
      const b = await instance(impl, db.url);
      try {
        const first = changed('revoked');
        const second = changed('deleted');
        const third = changed('revoked');
        await a.publish(first, second);
        await a.publish(third);
        await waitFor(() => b.heard.about(first, second, third).length >= 3, 'three events on the other instance');
        assert.deepEqual(b.heard.about(first, second, third), [first, second, third]);
        assert.deepEqual(a.heard.distinctAbout(first, second, third), [first, second, third], 'and here, in the same order');
        assert.deepEqual(b.errors, []);
      } finally {
        await b.close();
      }
    });

    it('carries a tenant\'s route-rules change (authRoutes.changed) here and to other instances, in order with key events', async () => {
      const b = impl.reachesOtherProcesses ? await instance(impl, db.url) : undefined;
      try {
        const tenantUid = uid();
        const rules: AuthRoutesChanged = { type: 'authRoutes.changed', tenantUid };
        const after = changed();
        await a.publish(rules, after);
        for (const heard of [a.heard, b?.heard]) {
          if (!heard) continue;
          await waitFor(() => heard.about(after).length > 0, 'the key event after it');
          assert.deepEqual(heard.aboutTenant(tenantUid)[0], rules);
        }
        assert.deepEqual(b?.errors ?? [], []);
      } finally {
        await b?.close();
      }
    });

    it('an event too big for one notification arrives in pieces of the same event that cover it, in order', async () => {
      const b = impl.reachesOtherProcesses ? await instance(impl, db.url) : undefined;
      try {
        const big = changed('deleted', Array.from({ length: 3000 }, uid));
        await a.publish(big);
        for (const heard of [a.heard, b?.heard]) {
          if (!heard) continue;
          await waitFor(() => new Set(heard.about(big).flatMap((e) => e.keyUids)).size === 3000, 'every key');
          const pieces = heard.distinctAbout(big);
          for (const p of pieces) assert.deepEqual({ ...p, keyUids: [] }, { ...big, keyUids: [] });
          assert.deepEqual([...new Set(pieces.flatMap((p) => p.keyUids))], big.keyUids);
        }
      } finally {
        await b?.close();
      }
    });

    it('a subscriber that throws neither deafens the others nor fails the transaction; the error is reported', async () => {
      const after = new Recorder();
      const unsubscribeThrower = a.bus.subscribe({
        event() {
          throw new Error('subscriber broke');
        },
        missed() {},
      });
      const unsubscribe = a.bus.subscribe(after);
      try {
        const event = changed();
        await a.publish(event);
        assert.deepEqual(after.distinctAbout(event), [event]);
        assert.ok(a.errors.some((e) => (e as Error).message === 'subscriber broke'));
      } finally {
        unsubscribeThrower();
        unsubscribe();
        a.errors.length = 0;
      }
    });

    it('an unsubscribed listener hears nothing more', async () => {
      const heard = new Recorder();
      const unsubscribe = a.bus.subscribe(heard);
      const first = changed();
      await a.publish(first);
      assert.ok(heard.about(first).length >= 1);
      unsubscribe();
      const second = changed();
      await a.publish(second);
      // Its notification, if any, comes after the commit: a later event, heard by the others, bounds the wait.
      const third = changed();
      await a.publish(third);
      if (impl.reachesOtherProcesses) await waitFor(() => a.heard.about(third).length >= 2, 'the echo of a later event');
      assert.deepEqual(heard.about(second, third), []);
    });

    it('publishes only inside a live unit of work', async () => {
      let leaked: Transaction | undefined;
      await a.store.transaction(async (tx) => {
        leaked = tx;
      });
      const event = changed();
      await assert.rejects(a.bus.publish(leaked!, event), /ended/);
      assert.deepEqual(a.heard.about(event), []);
      // Outside any transaction it does not even compile: the store is not a unit of work.
      // @ts-expect-error Store is not a Transaction
      const compileOnly = () => a.bus.publish(a.store, changed());
      assert.equal(typeof compileOnly, 'function');
    });

    it('healthy(): true while events from elsewhere cannot be missing; after a gap, subscribers are told', async () => {
      const fresh = impl.make(a.store, () => {});
      if (!impl.reachesOtherProcesses) {
        assert.equal(fresh.healthy(), true, 'one process: nothing can be missed');
        await fresh.start();
        await fresh.stop();
        assert.equal(fresh.healthy(), true);
        return;
      }
      assert.equal(fresh.healthy(), false, 'not listening yet');
      await fresh.start();
      assert.equal(fresh.healthy(), true);
      await fresh.stop();
      assert.equal(fresh.healthy(), false, 'stopped');

      // Cut the listening connection of instance A: unhealthy, then back, and its subscribers told.
      const missedBefore = a.heard.missedCount;
      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      try {
        await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1 and datname = current_database()', [LISTENER_APPLICATION_NAME]);
        await waitFor(() => !a.bus.healthy(), 'the cut to be noticed');
        await waitFor(() => a.bus.healthy(), 'the reconnection');
        assert.ok(a.heard.missedCount > missedBefore, 'subscribers are told events may have been missed');
        // A message this version cannot read counts as missed events too.
        const missed = a.heard.missedCount;
        await admin.query('select pg_notify($1, $2)', [KEY_EVENTS_CHANNEL, 'not-an-event']);
        await waitFor(() => a.heard.missedCount > missed, 'the unreadable message');
      } finally {
        await admin.end();
        a.errors.length = 0;
      }
    });

    it('a flood of unreadable messages clears caches at most once a second, never skipping the last, and logs one line', { skip: !impl.reachesOtherProcesses }, async () => {
      // Any database user can send these (security review r2, F6).
      const a = await instance(impl, db.url); // its own: the test before has cleared and logged
      const missed = a.heard.missedCount;
      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      try {
        for (let i = 0; i < 50; i++) await admin.query('select pg_notify($1, $2)', [KEY_EVENTS_CHANNEL, `garbage-${i}`]);
        await waitFor(() => a.heard.missedCount > missed, 'the first clear');
        // The ones inside the second are answered by one clear at its end.
        await waitFor(() => a.heard.missedCount === missed + 2, 'the trailing clear', 3000);
        await new Promise((r) => setTimeout(r, 1200));
        assert.equal(a.heard.missedCount, missed + 2, 'fifty messages, two clears');
        assert.equal(a.errors.length, 1, 'one log line a minute');
        const err = a.errors[0] as Error;
        assert.match(err.message, /unreadable message/);
        assert.ok(!String(err.stack ?? '').includes('\n'), 'no stack');
      } finally {
        await admin.end();
        await a.close();
      }
    });
  });
}
