/**
 * The PostgreSQL notification listener's staleness logic, on a real PostgreSQL connection with
 * an injected clock and timers: no sleeps, so each boundary is checked to the millisecond.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { LISTENER_APPLICATION_NAME } from '../src/store/notificationListener.js';
import { Store } from '../src/store/store.js';
import { createPostgres, databases, type TestDatabase } from './helpers/databases.js';
import { ManualTimers, waitFor } from './helpers/timers.js';

const hasPostgres = databases().some((d) => d.name === 'postgres');
const CHANNEL = 'keyward_test_listener';
const HEARTBEAT_MS = 200;
const STALE_MS = 750;

describe('notification listener: staleness and reconnection [postgres]', { skip: !hasPostgres && 'PostgreSQL not available' }, () => {
  let db: TestDatabase;
  let store: Store;
  let admin: pg.Client;

  before(async () => {
    db = await createPostgres();
    store = await Store.open(db.url);
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
  });
  after(async () => {
    await admin?.end();
    await store?.close();
    await db?.drop();
  });

  const backends = async () =>
    (await admin.query('select pid from pg_stat_activity where application_name = $1 and datname = current_database()', [LISTENER_APPLICATION_NAME])).rows.map((r) => r.pid as number);

  /** A started listener on a clock at 1000 ms, with its timers in the test's hand. */
  async function listen() {
    const clock = { now: 1000 };
    const timers = new ManualTimers();
    const heard: string[] = [];
    const errors: Error[] = [];
    let listening = 0;
    const listener = store.capabilities.notifications!.listen(CHANNEL, {
      onNotification: (payload) => heard.push(payload),
      onListening: () => listening++,
      onError: (err) => errors.push(err as Error),
      heartbeatMs: HEARTBEAT_MS,
      staleAfterMs: STALE_MS,
      now: () => clock.now,
      timers,
    });
    await listener.start();
    return { listener, clock, timers, heard, errors, listening: () => listening };
  }

  it('is healthy from connecting until staleAfterMs later, when no heartbeat has been answered', async () => {
    const l = await listen();
    try {
      assert.equal(l.listening(), 1, 'told it is listening (whatever came before is unknown)');
      assert.deepEqual(l.timers.intervals(), [HEARTBEAT_MS]);
      assert.equal(l.listener.healthy(), true);
      l.clock.now = 1000 + STALE_MS - 1;
      assert.equal(l.listener.healthy(), true);
      l.clock.now = 1000 + STALE_MS;
      assert.equal(l.listener.healthy(), false, 'stale: no proof of life for staleAfterMs');
    } finally {
      await l.listener.stop();
    }
  });

  it('an answered heartbeat renews it, counted from when the heartbeat was sent', async () => {
    const l = await listen();
    try {
      l.clock.now = 1500;
      l.timers.tick();
      assert.deepEqual(l.timers.timeouts(), [STALE_MS], 'the heartbeat waits at most staleAfterMs for its answer');
      // The answer comes later than the heartbeat was sent; freshness must count from the sending.
      l.clock.now = 1700;
      await waitFor(() => l.timers.timeouts().length === 0, 'the heartbeat answer');
      l.clock.now = 1500 + STALE_MS - 1;
      assert.equal(l.listener.healthy(), true);
      l.clock.now = 1500 + STALE_MS;
      assert.equal(l.listener.healthy(), false);
      assert.deepEqual(l.errors, []);
    } finally {
      await l.listener.stop();
    }
  });

  it('a heartbeat not answered within staleAfterMs drops the connection; it reconnects and says so', async () => {
    const l = await listen();
    try {
      const [first] = await backends();
      l.timers.tick();
      // Its time runs out before the answer is read, as on a network that went silent.
      assert.equal(l.timers.fire(STALE_MS), 1);
      assert.equal(l.listener.healthy(), false, 'unhealthy at once, whatever the clock says');
      assert.match(l.errors[0]?.message ?? '', /did not answer its heartbeat/);
      assert.deepEqual(l.timers.timeouts(), [100], 'a reconnection is scheduled');
      assert.equal(l.timers.fire(100), 1);
      await waitFor(() => l.listening() === 2, 'the reconnection');
      assert.equal(l.listener.healthy(), true);
      // The old connection is closed: one listening connection, a new one.
      await waitFor(async () => (await backends()).length === 1, 'the old connection to close');
      assert.notEqual((await backends())[0], first);
      await admin.query(`select pg_notify($1, 'after reconnecting')`, [CHANNEL]);
      await waitFor(() => l.heard.includes('after reconnecting'), 'a notification on the new connection');
    } finally {
      await l.listener.stop();
    }
  });

  it('a connection cut by the server: unhealthy at once, then reconnection with growing delays until it succeeds', async () => {
    const l = await listen();
    // A database cannot refuse connections to itself: ask from the maintenance database.
    const url = new URL(db.url);
    url.pathname = '/postgres';
    const maintenance = new pg.Client({ connectionString: url.toString() });
    await maintenance.connect();
    const allowConnections = (allow: boolean) => maintenance.query(`alter database ${maintenance.escapeIdentifier(admin.database!)} allow_connections ${allow}`);
    try {
      await allowConnections(false);
      await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1 and datname = current_database()', [LISTENER_APPLICATION_NAME]);
      await waitFor(() => !l.listener.healthy(), 'the cut to be noticed');
      assert.deepEqual(l.timers.timeouts(), [100]);
      l.timers.fire(100);
      await waitFor(() => l.timers.timeouts().length === 1, 'the failed attempt');
      assert.deepEqual(l.timers.timeouts(), [200], 'the next attempt waits twice as long');
      assert.equal(l.listener.healthy(), false);
      await allowConnections(true);
      l.timers.fire(200);
      await waitFor(() => l.listening() === 2, 'the reconnection');
      assert.equal(l.listener.healthy(), true);
      assert.ok(l.errors.length >= 2, 'the cut and the failed attempt are reported');
    } finally {
      await allowConnections(true);
      await maintenance.end();
      await l.listener.stop();
    }
  });

  it('hears its own channel only', async () => {
    const l = await listen();
    try {
      await admin.query(`select pg_notify('some_other_channel', 'not for us')`);
      await admin.query(`select pg_notify($1, 'for us')`, [CHANNEL]);
      await waitFor(() => l.heard.length > 0, 'the notification');
      assert.deepEqual(l.heard, ['for us']);
    } finally {
      await l.listener.stop();
    }
  });

  it('stop: unhealthy, no timer left, connection closed, and no reconnection', async () => {
    const l = await listen();
    await l.listener.stop();
    assert.equal(l.listener.healthy(), false);
    assert.deepEqual([...l.timers.timeouts(), ...l.timers.intervals()], []);
    await waitFor(async () => (await backends()).length === 0, 'the connection to close');
    assert.equal(l.listening(), 1);
  });
});
