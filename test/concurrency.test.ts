/**
 * Racing writes end in a consistent state with a matching audit trail: concurrent revokes and
 * re-activations of one key, concurrent creates of one name, and creates racing the owner's deletion.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import { buildApp } from '../src/http/app.js';
import { createServices } from '../src/service/services.js';
import { KEY_EVENTS_CHANNEL } from '../src/service/keyChanges/overNotifications.js';
import { decodeEvent } from '../src/service/keyChanges/wire.js';
import { Store } from '../src/store/store.js';
import { type Caller, eachDatabase, type Harness, SECRET } from './helpers/harness.js';

/** Another instance on the harness's PostgreSQL database, with its own cache and key-change listener. */
async function secondInstance(h: Harness) {
  const store = await Store.open(h.db.url);
  const services = createServices(store, { secret: SECRET, now: () => h.clock.now, authFailuresPerMinute: 100_000 });
  await services.start();
  const app = await buildApp({ services });
  return {
    app,
    async close() {
      await app.close();
      await services.stop();
      await store.close();
    },
  };
}

/** Every key uid announced on the key-change channel while it listens. */
async function announcements(url: string) {
  const uids = new Set<string>();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  client.on('notification', (msg) => {
    const event = msg.channel === KEY_EVENTS_CHANNEL && msg.payload !== undefined ? decodeEvent(msg.payload) : undefined;
    if (event?.type === 'keys.changed') for (const uid of event.keyUids) uids.add(uid);
  });
  await client.query(`listen ${KEY_EVENTS_CHANNEL}`);
  return { uids, close: () => client.end() };
}

eachDatabase('concurrency', (h) => {
  it('racing revokes and re-activations: the final state is the last audited one, and every request is audited', async () => {
    const user = await h().createUser();
    const key = await h().createKey(user);
    const actors = [h().admin.auth, user.auth];
    const requests = Array.from({ length: 30 }, (_, i) =>
      // The owner only re-activates what they may: an admin's revoke locks them out (403), which is fine.
      h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: actors[i % 2], body: { isActive: i % 3 !== 0 } }),
    );
    const answers = await Promise.all(requests);
    for (const a of answers) assert.ok([204, 403].includes(a.statusCode), `${a.statusCode} ${a.body}`);
    const succeeded = answers.filter((a) => a.statusCode === 204).length;

    const audits = (await h().inject('GET', `/v1/audits?resourceUid=${key.uid}&limit=1000`, { headers: h().admin.auth })).json().items;
    const stateChanges = audits.filter((a: any) => a.spec.action === 'apiKey.revoke' || a.spec.action === 'apiKey.activate');
    assert.equal(stateChanges.length, succeeded, 'one audit entry per acknowledged request');
    const state = (await h().inject('GET', `/v1/apiKeys/${key.uid}`, { headers: h().admin.auth })).json().status.isActive;
    assert.equal(state, stateChanges[0].spec.action === 'apiKey.activate', 'the newest audit entry says what the state is');
    assert.equal(await h().useKey(key.apiKey), state ? 200 : 401, 'and verification agrees');
    // Replaying the audit trail from the start gives the same state.
    let replay = true;
    for (const a of [...stateChanges].reverse()) if (a.spec.details.changed) replay = a.spec.action === 'apiKey.activate';
    assert.equal(replay, state);
  });

  it('racing creates of one name: exactly one wins, the others get 409, one key and one audit entry', async () => {
    const user = await h().createUser();
    const answers = await Promise.all(
      Array.from({ length: 12 }, () =>
        h().inject('POST', '/v1/apiKeys', { headers: user.auth, body: { metadata: { name: 'contested' }, spec: { expiry: h().expiryIn(5) } } }),
      ),
    );
    const statuses = answers.map((a) => a.statusCode).sort();
    assert.deepEqual(statuses, [201, ...Array(11).fill(409)]);
    const keys = (await h().inject('GET', '/v1/apiKeys', { headers: user.auth })).json().items.filter((k: any) => k.metadata.name === 'contested');
    assert.equal(keys.length, 1);
    const winner = answers.find((a) => a.statusCode === 201)!.json();
    assert.equal(keys[0].metadata.uid, winner.uid);
    assert.equal(await h().useKey(winner.apiKey), 200);
    const audits = (await h().inject('GET', '/v1/audits?limit=1000', { headers: h().admin.auth })).json().items;
    assert.equal(audits.filter((a: any) => a.spec.action === 'apiKey.create' && a.spec.resource.name === 'contested').length, 1);
  });

  it("keys created while their owner is deleted: 201 or 404, never 500, and none outlives the owner on any instance", async () => {
    const postgres = h().db.name === 'postgres';
    const other = postgres ? await secondInstance(h()) : undefined;
    const heard = postgres ? await announcements(h().db.url) : undefined;
    const instances: FastifyInstance[] = [h().app, ...(other ? [other.app] : [])];
    const use = async (app: FastifyInstance, apiKey: string) =>
      (await app.inject({ method: 'GET', url: '/v1/users/info', headers: { ApiKey: apiKey } })).statusCode;
    const created: { uid: string; apiKey: string }[] = [];
    const statuses: number[] = [];
    const wrong: string[] = [];
    try {
      for (let round = 0; round < 4; round++) {
        const user = await h().createUser();
        // The admin creates keys for the user, and the user for themselves (whose token dies with them: 401).
        const create = async (i: number, by: Caller): Promise<LightMyRequestResponse> => {
          const res = await h().inject('POST', '/v1/apiKeys', {
            headers: by.auth,
            body: { metadata: { name: `race-${round}-${i}` }, spec: { expiry: h().expiryIn(5), userUid: user.uid } },
          });
          statuses.push(res.statusCode);
          const allowed = by === user ? [201, 401, 404] : [201, 404];
          if (!allowed.includes(res.statusCode)) wrong.push(`create by ${by === user ? 'the owner' : 'an admin'}: ${res.statusCode} ${res.body}`);
          if (res.statusCode === 201) {
            created.push(res.json());
            // Warm every instance's cache with it, racing the deletion.
            for (const app of instances) await use(app, res.json().apiKey);
          }
          return res;
        };
        const creates: Promise<LightMyRequestResponse>[] = [];
        let deletion: Promise<LightMyRequestResponse> | undefined;
        for (let i = 0; i < 30; i++) {
          creates.push(create(i, i % 3 === 0 ? user : h().admin));
          if (i === 10) deletion = h().inject('DELETE', `/v1/users/${user.uid}`, { headers: h().admin.auth });
          await new Promise((r) => setTimeout(r, 1));
        }
        await Promise.all(creates);
        assert.equal((await deletion!).statusCode, 204);
      }
      assert.deepEqual(wrong, [], 'every create answers 201 or 404 (401 for the deleted owner), never 500');
      assert.ok(statuses.includes(201) && statuses.includes(404), `the creates raced the deletions: ${statuses.join(' ')}`);
      for (const key of created) {
        for (const app of instances) {
          const start = performance.now();
          for (;;) {
            const status = await use(app, key.apiKey);
            if (status === 401) break;
            assert.ok(performance.now() - start < 1000, `a key of a deleted user still answers ${status} after 1 s`);
            await new Promise((r) => setTimeout(r, 10));
          }
        }
      }
      if (heard) {
        const unannounced = created.filter((k) => !heard.uids.has(k.uid));
        assert.deepEqual(unannounced.map((k) => k.uid), [], 'every deleted key is announced to the other instances');
      }
    } finally {
      await heard?.close();
      await other?.close();
    }
  });
});
