/**
 * Every use case that changes what a key may do publishes it on the key-change bus, with its
 * reason, and the event has reached this instance's subscribers by the time the API answers.
 * A request that changes nothing, or is refused, publishes nothing.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sql } from 'kysely';
import type { KeyChangeReason, KeysChanged } from '../src/service/keyChanges/bus.js';
import { KEY_EVENTS_CHANNEL } from '../src/service/keyChanges/overNotifications.js';
import { DAY, eachDatabase } from './helpers/harness.js';
import { waitFor } from './helpers/timers.js';

eachDatabase('key changes published by the use cases', (h) => {
  const heard: KeysChanged[] = [];
  let barriers = 0;
  /**
   * Where the bus goes through the database, this instance hears its own events back a moment
   * after the answer: wait for them, so that they are not taken for the next request's. A
   * notification sent now arrives after every one committed before it.
   */
  const settle = async () => {
    if (!h().store.capabilities.notifications) return;
    const barrier = `barrier${++barriers}`;
    await sql`select pg_notify(${KEY_EVENTS_CHANNEL}, ${`keys.changed:revoked,${barrier}`})`.execute(h().store.connection.db);
    await waitFor(() => heard.some((e) => e.keyUids.includes(barrier)), 'the barrier notification');
  };
  /**
   * The distinct events heard about `keyUids` since the last call, as [reason, keys]: the events
   * heard before the answer, and their echoes (to be delivered at least once is the contract).
   */
  const newsAbout = async (...keyUids: string[]): Promise<[KeyChangeReason, string[]][]> => {
    await settle();
    const keys = new Set(keyUids);
    const seen = new Set<string>();
    const news: [KeyChangeReason, string[]][] = [];
    for (const e of heard.splice(0)) {
      if (!e.keyUids.some((k) => keys.has(k))) continue;
      const id = `${e.reason} ${e.keyUids.join(',')}`;
      if (!seen.has(id)) news.push([e.reason, [...e.keyUids].sort()]);
      seen.add(id);
    }
    return news;
  };
  const subscribe = () =>
    h().services.keyChanges.subscribe({
      event: (e) => {
        if (e.type === 'keys.changed') heard.push(e);
      },
      missed() {},
    });

  it('revoke, re-activate, expiry change and delete, each once, with its reason; no-ops and refusals publish nothing', async () => {
    const unsubscribe = subscribe();
    try {
      const auth = h().admin.auth;
      const key = await h().createKey(h().admin, { days: 5 });
      assert.deepEqual(await newsAbout(key.uid), [], 'a new key is news to no cache');
      assert.equal((await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: auth, body: { isActive: false } })).statusCode, 204);
      assert.deepEqual(await newsAbout(key.uid), [['revoked', [key.uid]]]);
      assert.equal((await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: auth, body: { isActive: false } })).statusCode, 204);
      assert.deepEqual(await newsAbout(key.uid), [], 'revoking a revoked key changes nothing');
      assert.equal((await h().inject('PUT', `/v1/apiKeys/${key.uid}/state`, { headers: auth, body: { isActive: true } })).statusCode, 204);
      assert.deepEqual(await newsAbout(key.uid), [['reactivated', [key.uid]]]);
      assert.equal((await h().inject('PUT', `/v1/apiKeys/${key.uid}`, { headers: auth, body: { metadata: { name: 'renamed' } } })).statusCode, 204);
      assert.deepEqual(await newsAbout(key.uid), [], 'a new name changes nothing a cache holds');
      assert.equal((await h().inject('PUT', `/v1/apiKeys/${key.uid}`, { headers: auth, body: { spec: { expiry: h().expiryIn(2) } } })).statusCode, 204);
      assert.deepEqual(await newsAbout(key.uid), [['expiryChanged', [key.uid]]]);

      // Refused: an expired key cannot be re-activated, and a plain user cannot undo an admin's revoke.
      assert.equal((await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: auth, body: { isActive: false } })).statusCode, 204);
      await newsAbout(key.uid);
      h().clock.now += 3 * DAY;
      try {
        const later = await h().signIn(h().admin.email, h().admin.password);
        assert.equal((await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: later.auth, body: { isActive: true } })).statusCode, 409);
      } finally {
        h().clock.now -= 3 * DAY;
      }
      const user = await h().createUser();
      const theirs = await h().createKey(h().admin, { userUid: user.uid });
      assert.equal((await h().inject('PATCH', `/v1/apiKeys/${theirs.uid}`, { headers: auth, body: { isActive: false } })).statusCode, 204);
      assert.equal((await h().inject('PATCH', `/v1/apiKeys/${theirs.uid}`, { headers: user.auth, body: { isActive: true } })).statusCode, 403);
      assert.deepEqual(await newsAbout(key.uid, theirs.uid), [['revoked', [theirs.uid]]], 'only the revoke');

      assert.equal((await h().inject('DELETE', `/v1/apiKeys/${key.uid}`, { headers: auth })).statusCode, 204);
      assert.deepEqual(await newsAbout(key.uid), [['deleted', [key.uid]]]);
    } finally {
      unsubscribe();
    }
  });

  it("a user's roles or email changing touches all their keys; their names do not; their deletion deletes all", async () => {
    const unsubscribe = subscribe();
    try {
      const user = await h().createUser();
      const keys = [await h().createKey(h().admin, { userUid: user.uid }), await h().createKey(h().admin, { userUid: user.uid })];
      const uids = keys.map((k) => k.uid).sort();
      const put = (body: unknown) => h().inject('PUT', `/v1/users/${user.uid}`, { headers: h().admin.auth, body });
      assert.equal((await put({ spec: { firstName: 'Renamed' } })).statusCode, 204);
      assert.deepEqual(await newsAbout(...uids), [], 'a name is not part of what a key verifies as');
      assert.equal((await put({ spec: { roles: ['tenant-admin'] } })).statusCode, 204);
      assert.deepEqual(await newsAbout(...uids), [['ownerChanged', uids]]);
      assert.equal((await put({ spec: { emailId: `moved-${user.email}` } })).statusCode, 204);
      assert.deepEqual(await newsAbout(...uids), [['ownerChanged', uids]]);
      assert.equal((await h().inject('DELETE', `/v1/users/${user.uid}`, { headers: h().admin.auth })).statusCode, 204);
      assert.deepEqual(await newsAbout(...uids), [['ownerDeleted', uids]]);
    } finally {
      unsubscribe();
    }
  });
});
