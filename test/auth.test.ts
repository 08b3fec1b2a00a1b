/** Sign-in, its rate limits, users, and the audit log. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { SignInLimits } from '../src/service/auth.js';
import { eachDatabase } from './helpers/harness.js';

const SECOND = 1000;
/** Small budgets, so that each rule shows in a few requests; the shape is the real one. */
export const limits: SignInLimits = {
  perAccountAndAddress: { free: 3, firstDelayMs: 10 * SECOND, growth: 2, maxDelayMs: 40 * SECOND, forgetAfterMs: 300 * SECOND },
  perAccount: { free: 6, firstDelayMs: 4 * SECOND, growth: 1.5, maxDelayMs: 12 * SECOND, forgetAfterMs: 300 * SECOND },
  perAddress: { free: 10, firstDelayMs: 30 * SECOND, growth: 2, maxDelayMs: 60 * SECOND, forgetAfterMs: 300 * SECOND },
};

eachDatabase(
  'sign-in',
  (h) => {
    const signIn = (emailId: string, password: string, ip = '127.0.0.1') =>
      h().app.inject({ method: 'POST', url: '/v1/auth/authenticate', payload: { emailId, password }, remoteAddress: ip });
    const later = (fn: (advance: (ms: number) => void) => Promise<void>) => h().later(fn);

    it('a wrong password and an unknown account get the same answer', async () => {
      const user = await h().createUser();
      const wrong = await signIn(user.email, 'not-the-password', '10.0.0.1');
      const unknown = await signIn('nobody@example.com', 'whatever-password', '10.0.0.1');
      assert.equal(wrong.statusCode, 401);
      assert.equal(unknown.statusCode, 401);
      assert.equal(wrong.json().message, unknown.json().message);
      assert.equal(wrong.json().code, 'Unauthorized');
      // Email is case-insensitive.
      assert.equal((await signIn(user.email.toUpperCase(), user.password, '10.0.0.1')).statusCode, 200);
    });

    it('one account from one address: a few free tries, then delays that double up to their cap; the right password waits too; other addresses do not', async () => {
      const user = await h().createUser();
      const ip = '10.1.0.1';
      await later(async (advance) => {
        for (let i = 0; i < limits.perAccountAndAddress.free; i++) assert.equal((await signIn(user.email, 'bad-password', ip)).statusCode, 401);
        assert.equal((await signIn(user.email, user.password, ip)).statusCode, 429);
        // Meanwhile the owner, from elsewhere, is not locked out.
        assert.equal((await signIn(user.email, user.password, '10.1.0.2')).statusCode, 200);
        const waits: number[] = [];
        for (const expected of [10, 20, 40, 40]) {
          const refused = await signIn(user.email, 'bad-password', ip);
          assert.equal(refused.statusCode, 429);
          assert.equal(refused.json().code, 'TooManyRequests');
          waits.push(Number(refused.headers['retry-after']));
          // Even the right password is refused while waiting: no oracle.
          assert.equal((await signIn(user.email, user.password, ip)).statusCode, 429);
          assert.equal(Number(refused.headers['retry-after']), expected, `waits so far ${waits}`);
          advance(expected * SECOND - 1);
          assert.equal((await signIn(user.email, 'bad-password', ip)).statusCode, 429, 'not a millisecond early');
          advance(1);
          assert.equal((await signIn(user.email, 'bad-password', ip)).statusCode, 401, 'one more try once the wait is over');
        }
        advance(40 * SECOND);
        assert.equal((await signIn(user.email, user.password, ip)).statusCode, 200, 'after the wait, the right password gets in');
        assert.equal((await signIn(user.email, 'bad-password', ip)).statusCode, 401, 'and the budget starts over');
      });
    });

    it('one account from many addresses: a slower delay, capped low, so the owner is kept out at most that long', async () => {
      const user = await h().createUser();
      let n = 0;
      const fresh = () => `10.5.${Math.floor(++n / 250)}.${n % 250}`;
      await later(async (advance) => {
        for (let i = 0; i < limits.perAccount.free; i++) assert.equal((await signIn(user.email, 'bad-password', fresh())).statusCode, 401);
        const waits: number[] = [];
        for (let round = 0; round < 6; round++) {
          const refused = await signIn(user.email, user.password, fresh());
          assert.equal(refused.statusCode, 429, 'the owner waits too: a refusal must not depend on the password');
          const wait = Number(refused.headers['retry-after']);
          waits.push(wait);
          advance(wait * SECOND);
          assert.equal((await signIn(user.email, 'bad-password', fresh())).statusCode, 401);
        }
        // 4 s, then half as long again each time, never past the 12 s cap.
        assert.deepEqual(waits, [4, 6, 9, 12, 12, 12]);
        advance(12 * SECOND);
        assert.equal((await signIn(user.email, user.password, fresh())).statusCode, 200, 'the owner is in once the capped wait passes');
      });
    });

    it('limits an address spraying passwords over many accounts', async () => {
      const ip = '10.2.0.1';
      for (let i = 0; i < limits.perAddress.free; i++) assert.equal((await signIn(`spray${i}@example.com`, 'Password1', ip)).statusCode, 401);
      const user = await h().createUser();
      const blocked = await signIn(user.email, user.password, ip);
      assert.equal(blocked.statusCode, 429);
      assert.equal(Number(blocked.headers['retry-after']), 30);
      assert.equal((await signIn(user.email, user.password, '10.2.0.2')).statusCode, 200, 'other addresses are unaffected');
    });

    it('records failed sign-ins in the audit log with the address', async () => {
      const user = await h().createUser();
      await signIn(user.email, 'wrong-one', '10.3.0.1');
      const audits = (await h().inject('GET', `/v1/audits?resourceUid=${user.uid}`, { headers: h().admin.auth })).json().items;
      const failed = audits.find((a: any) => a.spec.action === 'auth.signInFailed');
      assert.ok(failed, 'a failed sign-in is audited');
      assert.equal(failed.spec.address, '10.3.0.1');
      assert.equal(failed.spec.details.reason, 'wrong-password');
      assert.equal(failed.spec.details.count, 1);
    });

    it('audits a successful sign-in', async () => {
      const user = await h().createUser();
      await signIn(user.email, user.password, '10.3.0.2');
      const audits = (await h().inject('GET', `/v1/audits?resourceUid=${user.uid}`, { headers: user.auth })).json().items;
      const signedIn = audits.find((a: any) => a.spec.action === 'auth.signIn' && a.spec.address === '10.3.0.2');
      assert.ok(signedIn, 'a sign-in is audited');
      assert.equal(signedIn.spec.actor.userUid, user.uid);
      assert.equal(signedIn.spec.resource.uid, user.uid);
    });

    it('forgets a budget left alone long enough', async () => {
      const failures = () => h().store.signInAttempts.failures('account', 'prune-me@example.com');
      await signIn('prune-me@example.com', 'wrong-password', '10.4.0.1');
      assert.equal(await failures(), 1);
      await later(async (advance) => {
        await h().services.auth.guard.prune();
        assert.equal(await failures(), 1, 'a recent failure is kept');
        advance(limits.perAccount.forgetAfterMs);
        await h().services.auth.guard.prune();
        assert.equal(await failures(), 0);
      });
    });

    it('rejects a sign-in body of the wrong shape with 400', async () => {
      for (const payload of [{}, { emailId: 'a@b.c' }, { emailId: 1, password: 'x' }, { emailId: 'a@b.c', password: null }]) {
        const res = await h().app.inject({ method: 'POST', url: '/v1/auth/authenticate', payload });
        assert.equal(res.statusCode, 400, JSON.stringify(payload));
        assert.equal(res.json().code, 'BadRequest');
      }
    });
  },
  { signInLimits: limits },
);

eachDatabase('users', (h) => {
  it('a tenant admin creates, lists, gets and deletes users', async () => {
    const res = await h().inject('POST', '/v1/users', {
      headers: h().admin.auth,
      body: { metadata: { name: 'Ada Lovelace' }, spec: { emailId: 'Ada@Example.com', firstName: 'Ada', lastName: 'Lovelace', roles: [], password: 'analytical-engine-1843' } },
    });
    assert.equal(res.statusCode, 201);
    const { uid } = res.json();
    const dup = await h().inject('POST', '/v1/users', { headers: h().admin.auth, body: { spec: { emailId: 'ada@example.com', password: 'analytical-engine-1843' } } });
    assert.equal(dup.statusCode, 409);
    const list = (await h().inject('GET', '/v1/users', { headers: h().admin.auth })).json();
    const ada = list.items.find((u: any) => u.metadata.uid === uid);
    assert.equal(ada.spec.emailId, 'ada@example.com');
    assert.equal(ada.spec.firstName, 'Ada');
    assert.deepEqual(ada.spec.roles, []);
    assert.ok(!JSON.stringify(list).includes('scrypt'), 'no password hash in responses');
    const ada2 = await h().signIn('ada@example.com', 'analytical-engine-1843');
    const info = (await h().inject('GET', '/v1/users/info', { headers: ada2.auth })).json();
    assert.deepEqual(info, { orgName: 'default', tenantUid: h().tenantUid, userUid: uid });
    assert.equal((await h().inject('DELETE', `/v1/users/${uid}`, { headers: h().admin.auth })).statusCode, 204);
    assert.equal((await h().inject('GET', `/v1/users/${uid}`, { headers: h().admin.auth })).statusCode, 404);
    assert.equal((await h().inject('POST', '/v1/auth/authenticate', { body: { emailId: 'ada@example.com', password: 'analytical-engine-1843' } })).statusCode, 401);
  });

  it('refuses bad user input with 400, and an admin deleting themself with 409', async () => {
    const bad = [
      { spec: {} },
      { spec: { emailId: 'not-an-email', password: 'long-enough' } },
      { spec: { emailId: 'short@example.com', password: 'short' } },
      { spec: { emailId: 'roles@example.com', roles: 'tenant-admin' } },
      { spec: { emailId: 'ctl@example.com', firstName: 'a\u0000b' } },
    ];
    for (const body of bad) {
      const res = await h().inject('POST', '/v1/users', { headers: h().admin.auth, body });
      assert.equal(res.statusCode, 400, JSON.stringify(body));
    }
    assert.equal((await h().inject('DELETE', `/v1/users/${h().admin.uid}`, { headers: h().admin.auth })).statusCode, 409);
  });

  it('a plain user cannot create users and cannot make themself an admin', async () => {
    const user = await h().createUser();
    const res = await h().inject('POST', '/v1/users', { headers: user.auth, body: { spec: { emailId: 'x@example.com', roles: ['tenant-admin'] } } });
    assert.equal(res.statusCode, 403);
  });
});

eachDatabase('audit log', (h) => {
  it('records every key change with who, when, from where, and lists newest first', async () => {
    const user = await h().createUser();
    const key = await h().createKey(user, { name: 'audited' });
    const { apiKey: actorKey, uid: actorKeyUid } = await h().createKey(h().admin, { name: 'admin-automation' });
    await h().inject('PUT', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { metadata: { name: 'audited-2' } } });
    await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: { ApiKey: actorKey }, body: { isActive: false } });
    await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: h().admin.auth, body: { isActive: true } });
    await h().inject('DELETE', `/v1/apiKeys/${key.uid}`, { headers: user.auth });

    const res = await h().inject('GET', `/v1/audits?resourceUid=${key.uid}`, { headers: h().admin.auth });
    const items = res.json().items;
    assert.deepEqual(
      items.map((a: any) => a.spec.action),
      ['apiKey.delete', 'apiKey.activate', 'apiKey.revoke', 'apiKey.update', 'apiKey.create'],
    );
    const revoke = items[2];
    assert.equal(revoke.spec.actor.userUid, h().admin.uid);
    assert.equal(revoke.spec.actor.apiKeyUid, actorKeyUid, 'an action through an API key names the key');
    assert.equal(revoke.spec.address, '127.0.0.1');
    assert.ok(Date.parse(revoke.metadata.creationTimestamp) > 0);
    assert.equal(items[0].spec.actor.userUid, user.uid);

    // The owner reads the audit of their own key; another user reads nothing of it.
    const own = await h().inject('GET', `/v1/audits?resourceUid=${key.uid}`, { headers: user.auth });
    assert.equal(own.json().items.length, 5);
    const stranger = await h().createUser();
    const none = await h().inject('GET', `/v1/audits?resourceUid=${key.uid}`, { headers: stranger.auth });
    assert.equal(none.json().items.length, 0);
  });

  it('reads the whole log page by page, newest first, with nothing skipped or repeated', async () => {
    const user = await h().createUser();
    const key = await h().createKey(user, { name: 'paged-audit' });
    for (let i = 0; i < 6; i++) await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { isActive: i % 2 === 1 } });
    const all = (await h().inject('GET', `/v1/audits?resourceUid=${key.uid}`, { headers: user.auth })).json();
    assert.equal(all.items.length, 7);
    assert.equal(all.listmeta.count, 7);
    const paged: string[] = [];
    let next = '';
    do {
      const res = await h().inject('GET', `/v1/audits?resourceUid=${key.uid}&limit=3${next ? `&continue=${next}` : ''}`, { headers: user.auth });
      assert.equal(res.statusCode, 200);
      const body = res.json();
      assert.ok(body.items.length <= 3);
      assert.equal(body.listmeta.count, paged.length < 3 ? 7 : 8, 'count: every entry the caller may read, now');
      paged.push(...body.items.map((a: any) => a.metadata.uid));
      next = body.listmeta.continue;
      // An entry written while paging lands on the first page, not in the middle of the walk.
      if (paged.length === 3) await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { isActive: false } });
    } while (next);
    assert.deepEqual(paged, all.items.map((a: any) => a.metadata.uid));
    const bad = await h().inject('GET', '/v1/audits?continue=garbage', { headers: user.auth });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().code, 'BadRequest');
  });
});
