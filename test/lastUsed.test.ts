/**
 * Last-used times written in chunks: every key gets its own time, a time never moves backwards, a
 * failed flush loses nothing, and a revoke made during a long flush waits for one chunk at most.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import pg from 'pg';
import { newUid } from '../src/service/context.js';
import { LastUsedRecorder } from '../src/service/lastUsed.js';
import { LAST_USED_CHUNK } from '../src/store/apiKeys.js';
import { DAY, eachDatabase, type Harness } from './helpers/harness.js';

const N = 2_500;

/** `n` keys of the admin's, straight into the store (2,500 through the API would be slow). */
async function insertKeys(h: Harness, tag: string, n = N): Promise<string[]> {
  const now = h.clock.now;
  const uids = Array.from({ length: n }, () => newUid());
  await h.store.transaction(async (tx) => {
    for (const [i, uid] of uids.entries()) {
      const key = {
        uid,
        tenantUid: h.tenantUid,
        userUid: h.admin.uid,
        name: `${tag}-${i}`,
        description: '',
        start: 'kw_test',
        expiry: now + 30 * DAY,
        isActive: true,
        revokedAt: null,
        revokedByUid: null,
        revokedByAdmin: false,
        createdAt: now,
        updatedAt: now,
        lastUsedAt: null,
        scopes: ['*'],
        allowedCidrs: [],
      };
      await tx.apiKeys.insert(key, randomBytes(32).toString('hex'));
    }
  });
  return uids;
}

async function lastUsed(h: Harness, uids: string[]): Promise<Map<string, number | null>> {
  const rows = await h.store.connection.db.selectFrom('api_keys').select(['uid', 'last_used_at']).where('uid', 'in', uids).execute();
  return new Map(rows.map((r) => [r.uid, r.last_used_at === null ? null : Number(r.last_used_at)]));
}

/** A recorder of the test's own, never started: the harness's one runs on a timer. */
const recorder = (h: Harness) => new LastUsedRecorder(h.store, 3_600_000, () => {});

/** A real database failure: a trigger that refuses a last-used write to one key. */
async function refuseLastUsedOf(h: Harness, uid: string): Promise<() => Promise<void>> {
  const db = h.store.connection.db;
  if (h.db.name === 'sqlite') {
    await sql`create trigger refuse_last_used before update of last_used_at on api_keys
      when new.uid = ${sql.lit(uid)} begin select raise(abort, 'refused by the test'); end`.execute(db);
    return async () => void (await sql`drop trigger refuse_last_used`.execute(db));
  }
  await sql`create function refuse_last_used() returns trigger language plpgsql as $$
    begin raise exception 'refused by the test'; end $$`.execute(db);
  await sql`create trigger refuse_last_used before update of last_used_at on api_keys
    for each row when (new.uid = ${sql.lit(uid)}) execute function refuse_last_used()`.execute(db);
  return async () => {
    await sql`drop trigger refuse_last_used on api_keys`.execute(db);
    await sql`drop function refuse_last_used()`.execute(db);
  };
}

/** Until some session of the blocker's database waits for a row lock. */
async function waitForLockWait(client: pg.Client): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    const { rows } = await client.query("select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'");
    if (rows[0].n > 0) return;
    await sleep(10);
  }
  throw new Error('nothing waited for the lock within 10 s');
}

eachDatabase('last-used writes', (h) => {
  it(`writes ${N} keys' times, each its own, in several chunks`, async () => {
    assert.ok(N > 2 * LAST_USED_CHUNK, 'the batch spans more than two chunks');
    const uids = await insertKeys(h(), 'many');
    const r = recorder(h());
    const base = h().clock.now;
    uids.forEach((uid, i) => r.record(uid, base + i));
    await r.flush();
    const got = await lastUsed(h(), uids);
    uids.forEach((uid, i) => assert.equal(got.get(uid), base + i, `key ${i}`));
  });

  it('never moves a time backwards, across chunks', async () => {
    const uids = await insertKeys(h(), 'order');
    const r = recorder(h());
    const t = h().clock.now;
    for (const uid of uids) r.record(uid, t);
    await r.flush();
    // Even keys see an older use (another instance's late flush), odd keys a newer one.
    uids.forEach((uid, i) => r.record(uid, i % 2 ? t + 1000 : t - 1000));
    await r.flush();
    const got = await lastUsed(h(), uids);
    uids.forEach((uid, i) => assert.equal(got.get(uid), i % 2 ? t + 1000 : t, `key ${i}`));
  });

  it('a deleted key in the batch is harmless', async () => {
    const uids = await insertKeys(h(), 'deleted', 1200);
    const r = recorder(h());
    const t = h().clock.now;
    for (const uid of uids) r.record(uid, t);
    r.record(newUid(), t); // never existed
    const gone = uids.splice(600, 1)[0]!;
    await h().store.apiKeys.delete(gone);
    await r.flush();
    const got = await lastUsed(h(), [...uids, gone]);
    assert.equal(got.has(gone), false);
    assert.equal(got.size, uids.length);
    for (const uid of uids) assert.equal(got.get(uid), t);
  });

  it('a use recorded during a flush is written by the next one', async () => {
    const [a, b] = await insertKeys(h(), 'during', 2);
    const r = recorder(h());
    const t = h().clock.now;
    r.record(a!, t);
    const flushing = r.flush();
    r.record(a!, t + 5);
    r.record(b!, t + 7);
    await flushing;
    const first = await lastUsed(h(), [a!, b!]);
    assert.equal(first.get(a!), t);
    assert.equal(first.get(b!), null);
    await r.flush();
    const got = await lastUsed(h(), [a!, b!]);
    assert.equal(got.get(a!), t + 5);
    assert.equal(got.get(b!), t + 7);
  });

  it('a failed flush keeps its batch for the next one, the newest time winning', async () => {
    const uids = await insertKeys(h(), 'failed');
    const r = recorder(h());
    const t = h().clock.now;
    uids.forEach((uid, i) => r.record(uid, t + i));
    // The third chunk fails: the first two are committed, each chunk in its own transaction.
    const allow = await refuseLastUsedOf(h(), uids[2 * LAST_USED_CHUNK + 7]!);
    try {
      const flushing = r.flush();
      // Uses recorded while it runs: one newer than the batch's, one older (a clock stepped back).
      r.record(uids[0]!, t + 10 * N);
      r.record(uids[N - 1]!, t);
      await assert.rejects(flushing, /refused by the test/);
      const written = await lastUsed(h(), uids);
      uids.forEach((uid, i) => assert.equal(written.get(uid), i < 2 * LAST_USED_CHUNK ? t + i : null, `key ${i} after the failure`));
    } finally {
      await allow();
    }
    await r.flush();
    const got = await lastUsed(h(), uids);
    assert.equal(got.get(uids[0]!), t + 10 * N, 'the use recorded during the failed flush');
    assert.equal(got.get(uids[N - 1]!), t + N - 1, "the failed batch's newer time, not the older use");
    for (let i = 1; i < N - 1; i++) assert.equal(got.get(uids[i]!), t + i, `key ${i}`);
  });

  it(`a revoke made during a flush of ${N} keys waits for one chunk, not the whole flush`, async () => {
    const uids = await insertKeys(h(), 'revoke');
    const r = recorder(h());
    const t = h().clock.now;
    for (const uid of uids) r.record(uid, t);
    // The revoked key is in the first chunk: its row is written (on PostgreSQL, locked) first.
    const revoke = () => h().inject('PATCH', `/v1/apiKeys/${uids[0]}`, { headers: h().admin.auth, body: { isActive: false } });
    let flushed = false;
    if (h().db.name === 'sqlite') {
      // One connection, statements run synchronously: the revoke gets in between two chunks or not at all.
      const flushing = r.flush().then(() => (flushed = true));
      assert.equal((await revoke()).statusCode, 204);
      assert.equal(flushed, false, 'the revoke finished while the flush still had chunks to write');
      await flushing;
    } else {
      // Another session holds a row of the second chunk: the flush stops there until it lets go,
      // and the revoke must not wait for that.
      const blocker = new pg.Client({ connectionString: h().db.url });
      await blocker.connect();
      let flushing: Promise<unknown> | undefined;
      try {
        await blocker.query('begin');
        await blocker.query('select 1 from api_keys where uid = $1 for update', [uids[LAST_USED_CHUNK + 1]]);
        flushing = r.flush().then(() => (flushed = true));
        await waitForLockWait(blocker);
        const res = await Promise.race([revoke(), sleep(10_000, undefined, { ref: false }).then(() => 'still waiting after 10 s')]);
        assert.equal(typeof res === 'string' ? res : res.statusCode, 204);
        assert.equal(flushed, false);
      } finally {
        await blocker.query('rollback');
        await blocker.end();
        await flushing;
      }
    }
    const key = await h().store.apiKeys.findByUid(uids[0]!);
    assert.equal(key?.isActive, false);
    assert.equal(key?.lastUsedAt, t);
  });

  it('stop waits for a running flush, then writes what is left', async () => {
    const uids = await insertKeys(h(), 'stop', 1200);
    const r = recorder(h());
    const t = h().clock.now;
    for (const uid of uids.slice(0, 1000)) r.record(uid, t);
    const flushing = r.flush();
    for (const uid of uids.slice(1000)) r.record(uid, t + 1);
    await r.stop();
    const got = await lastUsed(h(), uids);
    uids.forEach((uid, i) => assert.equal(got.get(uid), i < 1000 ? t : t + 1, `key ${i}`));
    await flushing;
  });
});
