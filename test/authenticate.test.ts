/**
 * The one authenticate use case (src/service/authenticate.ts), called directly: each outcome for
 * each kind of credential, the failure counting and last-used recording it alone does, verify's
 * context (no counting, one tenant), and infrastructure failures thrown rather than given as
 * verdicts. On SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { newApiKey } from '../src/domain/apiKeyFormat.js';
import type { AuthContext, AuthOutcome, Presented } from '../src/service/authenticate.js';
import { createServices } from '../src/service/services.js';
import { Store } from '../src/store/store.js';
import { DAY, eachDatabase, type Harness, SECRET } from './helpers/harness.js';

const LIMIT = 3;
let addresses = 0;
/** An address no other test has used, so each test starts with the whole guessing budget. */
const freshAddress = () => `10.77.${Math.floor(++addresses / 250)}.${(addresses % 250) + 1}`;

const refusedAs = (outcome: AuthOutcome) => (outcome.ok ? 'ok' : outcome.code);

eachDatabase(
  'authenticate',
  (h) => {
    const authenticate = (presented: Presented, context: Partial<AuthContext> = {}) =>
      h().services.authenticator.authenticate(presented, { address: freshAddress(), ...context });

    /** The key's last-used time as written to the database, after a flush of what is pending. */
    async function lastUsedAt(uid: string): Promise<number | null> {
      await h().services.lastUsed.flush();
      return (await h().store.apiKeys.findByUid(uid))!.lastUsedAt;
    }

    const revoke = async (h: Harness, uid: string) => {
      const res = await h.inject('PATCH', `/v1/apiKeys/${uid}`, { headers: h.admin.auth, body: { isActive: false } });
      assert.equal(res.statusCode, 204);
    };

    it('a valid key: its owner as principal (with the key), the key, and its use recorded', async () => {
      const user = await h().createUser();
      const key = await h().createKey(user);
      assert.equal(await lastUsedAt(key.uid), null);
      const outcome = await authenticate({ apiKey: key.apiKey });
      assert.ok(outcome.ok, JSON.stringify(outcome));
      assert.deepEqual(
        { ...outcome.principal },
        // A key made without scopes holds `*`, and without allowedCidrs has no allowlist.
        { userUid: user.uid, tenantUid: h().tenantUid, email: user.email, isAdmin: false, apiKeyUid: key.uid, scopes: ['*'], allowlist: undefined },
      );
      assert.equal(outcome.key?.uid, key.uid);
      assert.equal(outcome.session, undefined);
      assert.equal(await lastUsedAt(key.uid), h().clock.now);
    });

    it('keys that do not authenticate: garbage and unknown keys are Unauthorized with nothing found; revoked and expired keys say so, with the key found', async () => {
      for (const apiKey of ['', 'kw_garbage', newApiKey('another-secret').key]) {
        const outcome = await authenticate({ apiKey });
        assert.deepEqual(outcome, { ok: false, code: 'Unauthorized' }, `key ${JSON.stringify(apiKey.slice(0, 8))}`);
      }
      const user = await h().createUser();
      const revoked = await h().createKey(user);
      await revoke(h(), revoked.uid);
      const inactive = await authenticate({ apiKey: revoked.apiKey });
      assert.equal(refusedAs(inactive), 'ApiKeyInactive');
      assert.ok(!inactive.ok);
      assert.equal(inactive.found?.key.uid, revoked.uid);
      assert.equal(inactive.found?.principal.userUid, user.uid);
      assert.equal(await lastUsedAt(revoked.uid), null, 'a refused key is not recorded as used');

      const shortLived = await h().createKey(user, { days: 1 });
      assert.equal(refusedAs(await authenticate({ apiKey: shortLived.apiKey })), 'ok');
      const used = await lastUsedAt(shortLived.uid);
      h().clock.now += 2 * DAY;
      try {
        const expired = await authenticate({ apiKey: shortLived.apiKey });
        assert.equal(refusedAs(expired), 'ApiKeyExpired');
        assert.equal(!expired.ok && expired.found?.key.uid, shortLived.uid);
        assert.equal(await lastUsedAt(shortLived.uid), used, 'an expired key is not recorded as used');
      } finally {
        h().clock.now -= 2 * DAY;
      }
    });

    it('a session token or cookie: its user as principal (without a key), and the live session; a forged or ended one is Unauthorized', async () => {
      const user = await h().createUser();
      for (const presented of [{ token: user.token }, { cookie: user.token }]) {
        const outcome = await authenticate(presented);
        assert.ok(outcome.ok, JSON.stringify(outcome));
        assert.deepEqual({ ...outcome.principal }, { userUid: user.uid, tenantUid: h().tenantUid, email: user.email, isAdmin: false });
        assert.equal(outcome.key, undefined);
        assert.equal(outcome.session?.principal.userUid, user.uid);
        assert.ok(outcome.session!.expiresAt > h().clock.now);
      }
      for (const presented of [{ token: `${user.token}x` }, { cookie: 'not-a-token' }, { token: '' }]) {
        assert.deepEqual(await authenticate(presented), { ok: false, code: 'Unauthorized' }, JSON.stringify(presented).slice(0, 30));
      }
      const logout = await h().inject('POST', '/v1/auth/logout', { headers: user.auth });
      assert.equal(logout.statusCode, 204);
      assert.deepEqual(await authenticate({ token: user.token }), { ok: false, code: 'Unauthorized' }, 'an ended session');
    });

    it('nothing presented is Unauthorized; an API key wins over a token presented beside it', async () => {
      assert.deepEqual(await authenticate({}), { ok: false, code: 'Unauthorized' });
      const key = await h().createKey(h().admin);
      const user = await h().createUser();
      const both = await authenticate({ apiKey: key.apiKey, token: user.token });
      assert.ok(both.ok);
      assert.equal(both.principal.userUid, h().admin.uid);
      assert.equal(refusedAs(await authenticate({ apiKey: 'kw_wrong', token: user.token })), 'Unauthorized');
    });

    it('refusals count against the address: past the budget they are TooManyRequests with retryAfter, while good credentials still get in', async () => {
      const address = freshAddress();
      const key = await h().createKey(h().admin);
      const revoked = await h().createKey(h().admin);
      await revoke(h(), revoked.uid);
      const at = { address };
      // Every kind of refusal counts, whichever credential it was.
      assert.equal(refusedAs(await authenticate({ apiKey: 'kw_nope' }, at)), 'Unauthorized');
      assert.equal(refusedAs(await authenticate({ apiKey: revoked.apiKey }, at)), 'ApiKeyInactive');
      assert.equal(refusedAs(await authenticate({ token: 'forged' }, at)), 'Unauthorized');
      const blocked = await authenticate({ apiKey: 'kw_nope' }, at);
      assert.equal(refusedAs(blocked), 'TooManyRequests');
      assert.ok(!blocked.ok && blocked.retryAfter! > 0 && blocked.retryAfter! <= 60, `retryAfter ${!blocked.ok && blocked.retryAfter}`);
      assert.equal(!blocked.ok && blocked.found, undefined);
      assert.equal(refusedAs(await authenticate({ apiKey: revoked.apiKey }, at)), 'TooManyRequests', 'a blocked address is not told why a real key failed');
      assert.equal(refusedAs(await authenticate({}, at)), 'TooManyRequests');
      assert.equal(refusedAs(await authenticate({ apiKey: key.apiKey }, at)), 'ok', 'a valid key from a blocked address');
      assert.equal(refusedAs(await authenticate({ token: h().admin.token }, at)), 'ok', 'a valid token from a blocked address');
      assert.equal(refusedAs(await authenticate({ apiKey: 'kw_nope' }, { address: freshAddress() })), 'Unauthorized', 'another address');
      h().clock.now += 61_000;
      try {
        assert.equal(refusedAs(await authenticate({ apiKey: 'kw_nope' }, at)), 'Unauthorized', 'the next window');
      } finally {
        h().clock.now -= 61_000;
      }
    });

    it("verify's context: refusals are not counted, a blocked address still hears why, and another tenant's key is as one that does not exist", async () => {
      const address = freshAddress();
      const revoked = await h().createKey(h().admin);
      await revoke(h(), revoked.uid);
      const relayed = { address, countFailures: false, tenantUid: h().tenantUid };
      for (let i = 0; i < LIMIT * 3; i++) assert.equal(refusedAs(await authenticate({ apiKey: `kw_relayed${i}` }, relayed)), 'Unauthorized');
      assert.equal(refusedAs(await authenticate({ apiKey: 'kw_counted' }, { address })), 'Unauthorized', 'the uncounted refusals left the budget whole');

      for (let i = 0; i < LIMIT; i++) await authenticate({ apiKey: `kw_guess${i}` }, { address });
      assert.equal(refusedAs(await authenticate({ apiKey: 'kw_guess' }, { address })), 'TooManyRequests', 'the address is blocked');
      assert.equal(refusedAs(await authenticate({ apiKey: revoked.apiKey }, relayed)), 'ApiKeyInactive', 'uncounted refusals are never TooManyRequests');

      const other = await h().createTenant(`authn-${Math.random().toString(36).slice(2, 8)}`);
      const foreign = await h().createKey(other);
      const foreignRevoked = await h().createKey(other);
      assert.equal((await h().inject('PATCH', `/v1/apiKeys/${foreignRevoked.uid}`, { headers: other.auth, body: { isActive: false } })).statusCode, 204);
      assert.deepEqual(await authenticate({ apiKey: foreign.apiKey }, relayed), { ok: false, code: 'Unauthorized' });
      assert.deepEqual(await authenticate({ apiKey: foreignRevoked.apiKey }, relayed), { ok: false, code: 'Unauthorized' }, "another tenant's revoked key tells nothing");
      assert.equal(await lastUsedAt(foreign.uid), null, "another tenant's key is not recorded as used");
      const own = await authenticate({ apiKey: foreign.apiKey }, { ...relayed, tenantUid: other.tenantUid });
      assert.equal(refusedAs(own), 'ok', 'in its own tenant');
      assert.equal(await lastUsedAt(foreign.uid), h().clock.now);
    });

    it('POST /v1/apiKeys/verify records a valid key as used, as the forward-auth check does, and its refusals never block the caller', async () => {
      const address = freshAddress();
      const verify = (key: string) =>
        h().app.inject({ method: 'POST', url: '/v1/apiKeys/verify', headers: h().admin.auth, payload: { key }, remoteAddress: address });
      const relayed = await h().createKey(await h().createUser());
      const res = await verify(relayed.apiKey);
      assert.equal(res.json().code, 'VALID');
      assert.equal(await lastUsedAt(relayed.uid), h().clock.now, 'a key a service verified was used');
      h().clock.now += 1000;
      try {
        await h().app.inject({ method: 'GET', url: '/v1/auth/check', headers: { ApiKey: relayed.apiKey } });
        assert.equal(await lastUsedAt(relayed.uid), h().clock.now, 'and so is one the forward-auth check let through');
      } finally {
        h().clock.now -= 1000;
      }
      for (let i = 0; i < LIMIT * 2; i++) assert.equal((await verify(`kw_relayed_typo${i}`)).json().code, 'NOT_FOUND');
      const after = await h().app.inject({ method: 'GET', url: '/v1/users/info', headers: { ApiKey: 'kw_own_typo' }, remoteAddress: address });
      assert.equal(after.statusCode, 401, "the relayed keys' refusals did not count against the caller's address");
    });

    it('a database that cannot answer is thrown, not a verdict, and is not counted as a failure', async () => {
      const key = await h().createKey(h().admin);
      const store = await Store.open(h().db.url);
      // A budget of one: a single counted refusal would block the address.
      const services = createServices(store, { secret: SECRET, now: () => h().clock.now, authFailuresPerMinute: 1 });
      await store.close();
      const address = freshAddress();
      await assert.rejects(async () => services.authenticator.authenticate({ apiKey: key.apiKey }, { address }), (err: Error) => !/Unauthorized/.test(err.message));
      await assert.rejects(async () => services.authenticator.authenticate({ token: h().admin.token }, { address }));
      // Refusals needing no database still work, and the first one is answered as itself.
      assert.equal(refusedAs(await services.authenticator.authenticate({ apiKey: 'kw_nope' }, { address })), 'Unauthorized', 'the thrown attempts were not counted');
      assert.equal(refusedAs(await services.authenticator.authenticate({ apiKey: 'kw_nope' }, { address })), 'TooManyRequests');
    });
  },
  { authFailuresPerMinute: LIMIT },
);
