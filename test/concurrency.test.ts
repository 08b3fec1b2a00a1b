/**
 * Racing writes end in a consistent state with a matching audit trail: concurrent revokes and
 * re-activations of one key, and concurrent creates of one name.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { eachDatabase } from './helpers/harness.js';

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
});
