/**
 * Sessions: a token or cookie names a session that logout, deleting the user, or a password
 * change ends at once; refresh works only while it lives, for 12 hours at most; the cookie is
 * renewed only when its token is really old.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { it } from 'node:test';
import { createSigner } from 'fast-jwt';
import { RENEW_AFTER_MS } from '../src/http/session.js';
import { SESSION_LIFETIME_MS, TOKEN_LIFETIME_MS } from '../src/service/tokens.js';
import { eachDatabase, SECRET } from './helpers/harness.js';

const MINUTE = 60_000;
const claims = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());

eachDatabase('sessions', (h) => {
  const info = (headers: Record<string, string>) => h().inject('GET', '/v1/users/info', { headers });
  const refresh = (token: string) => h().inject('GET', `/v1/auth/refresh/${token}`);
  /** Signs in as the console does, and returns the cookie header and CSRF token to send. */
  const cookieSignIn = async (who: { email: string; password: string }) => {
    const res = await h().inject('POST', '/v1/auth/authenticate', { body: { emailId: who.email, password: who.password } });
    assert.equal(res.statusCode, 200);
    const jar = Object.fromEntries(res.cookies.map((c) => [c.name, c.value]));
    return { cookie: `keyward_session=${jar.keyward_session}; keyward_csrf=${jar.keyward_csrf}`, csrf: jar.keyward_csrf!, session: jar.keyward_session! };
  };
  const later = (fn: (advance: (ms: number) => void) => Promise<void>) => h().later(fn);

  it('logout ends the session of the token: the token, and tokens refreshed from it, then get 401', async () => {
    const user = await h().createUser();
    const other = await h().signIn(user.email, user.password);
    const refreshed = (await refresh(user.token)).json().Authorization as string;
    assert.equal((await info({ Authorization: refreshed })).statusCode, 200);
    const out = await h().inject('POST', '/v1/auth/logout', { headers: { Authorization: `Bearer ${user.token}` } });
    assert.equal(out.statusCode, 204);
    for (const token of [user.token, refreshed]) {
      assert.equal((await info({ Authorization: token })).statusCode, 401);
      assert.equal((await refresh(token)).statusCode, 401, 'an ended session cannot be refreshed');
    }
    assert.equal((await info(other.auth)).statusCode, 200, 'another session of the same user goes on');
    const again = await h().inject('POST', '/v1/auth/logout', { headers: { Authorization: user.token } });
    assert.equal(again.statusCode, 204, 'logging out twice is harmless');
  });

  it('logout ends the session of the cookie and clears it; the old cookie then gets 401', async () => {
    const user = await h().createUser();
    const { cookie, csrf } = await cookieSignIn(user);
    assert.equal((await info({ cookie })).statusCode, 200);
    const noCsrf = await h().inject('POST', '/v1/auth/logout', { headers: { cookie } });
    assert.equal(noCsrf.statusCode, 403, 'a cookie ends its session only with the CSRF token, as any write');
    assert.equal((await info({ cookie })).statusCode, 200);
    const out = await h().inject('POST', '/v1/auth/logout', { headers: { cookie, 'x-csrf-token': csrf } });
    assert.equal(out.statusCode, 204);
    assert.deepEqual(out.cookies.map((c) => [c.name, c.value]).sort(), [['keyward_csrf', ''], ['keyward_session', '']]);
    const after = await info({ cookie });
    assert.equal(after.statusCode, 401);
    assert.equal(after.json().code, 'Unauthorized');
  });

  it('refresh: a fresh token for the same session while it lives, never past 12 hours from sign-in', async () => {
    const user = await h().createUser();
    await later(async (advance) => {
      const first = (await h().signIn(user.email, user.password)).token;
      const signedInAt = h().clock.now;
      let token = first;
      // Refresh every 14 minutes, as a client keeping its token alive would.
      while (h().clock.now + 14 * MINUTE < signedInAt + SESSION_LIFETIME_MS) {
        advance(14 * MINUTE);
        const res = await refresh(token);
        assert.equal(res.statusCode, 200, `refresh at ${(h().clock.now - signedInAt) / MINUTE} minutes`);
        const next = res.json().Authorization as string;
        assert.equal(claims(next).sid, claims(first).sid, 'the same session');
        assert.ok(claims(next).exp * 1000 <= signedInAt + SESSION_LIFETIME_MS, 'no token outlives its session');
        token = next;
      }
      assert.equal((await info({ Authorization: token })).statusCode, 200);
      advance(signedInAt + SESSION_LIFETIME_MS - h().clock.now);
      assert.equal((await info({ Authorization: token })).statusCode, 401, 'the session is over after 12 hours');
      assert.equal((await refresh(token)).statusCode, 401);
    });
  });

  it('a token lasts 15 minutes', async () => {
    const user = await h().createUser();
    const c = claims(user.token);
    assert.equal(c.exp - c.iat, TOKEN_LIFETIME_MS / 1000);
  });

  it('deleting a user ends their sessions', async () => {
    const user = await h().createUser();
    const { cookie } = await cookieSignIn(user);
    assert.equal((await info(user.auth)).statusCode, 200);
    assert.equal((await h().inject('DELETE', `/v1/users/${user.uid}`, { headers: h().admin.auth })).statusCode, 204);
    assert.equal((await info(user.auth)).statusCode, 401);
    assert.equal((await info({ cookie })).statusCode, 401);
    const rows = await h().store.connection.db.selectFrom('sessions').selectAll().where('user_uid', '=', user.uid).execute();
    assert.equal(rows.length, 0, 'the sessions went with the user');
  });

  it('the cookie is renewed only once its token is old, and the renewed one is the same session', async () => {
    const user = await h().createUser();
    const { cookie, csrf, session } = await cookieSignIn(user);
    assert.equal(typeof claims(session).iat, 'number', 'the token carries its issue time');
    await later(async (advance) => {
      for (let i = 0; i < 3; i++) {
        const res = await info({ cookie });
        assert.equal(res.statusCode, 200);
        assert.equal(res.cookies.length, 0, 'a fresh cookie is not re-issued on every request');
        advance(MINUTE);
      }
      advance(RENEW_AFTER_MS - 3 * MINUTE + 1000);
      const res = await info({ cookie });
      assert.equal(res.statusCode, 200);
      const renewed = res.cookies.find((c) => c.name === 'keyward_session');
      assert.ok(renewed, 'an old cookie is renewed');
      assert.notEqual(renewed.value, session);
      assert.equal(claims(renewed.value).sid, claims(session).sid);
      const renewedCookie = `keyward_session=${renewed.value}; keyward_csrf=${csrf}`;
      assert.equal((await info({ cookie: renewedCookie })).cookies.length, 0, 'and then not again at once');
      // Past the old token's 15 minutes, only the renewed cookie works.
      advance(TOKEN_LIFETIME_MS - RENEW_AFTER_MS);
      assert.equal((await info({ cookie })).statusCode, 401);
      assert.equal((await info({ cookie: renewedCookie })).statusCode, 200);
      // Logging out with the renewed cookie ends the session the first one named, too.
      assert.equal((await h().inject('POST', '/v1/auth/logout', { headers: { cookie: renewedCookie, 'x-csrf-token': csrf } })).statusCode, 204);
      assert.equal((await info({ cookie: renewedCookie })).statusCode, 401);
    });
  });

  it('a token without a session, or without its issue time, is refused', async () => {
    const user = await h().createUser();
    const issuer = h().services.auth.tokens;
    const forged = issuer.issue({ sub: user.uid, tid: user.tenantUid, sid: 'no-such-session' }, h().clock.now + MINUTE * 60);
    assert.equal((await info({ Authorization: forged })).statusCode, 401);
    // Well signed, of a live session, but without iat: its age cannot be known, so it is not taken.
    const key = createHmac('sha256', SECRET).update('keyward-session-token').digest();
    const { sub, tid, sid, exp } = claims(user.token);
    const noIat = createSigner({ key, algorithm: 'HS256', noTimestamp: true })({ sub, tid, sid, exp });
    assert.equal(claims(noIat).iat, undefined);
    assert.equal((await info({ Authorization: noIat })).statusCode, 401);
    assert.equal((await info(user.auth)).statusCode, 200);
  });

  it('sign-in, refresh and logout are audited', async () => {
    const user = await h().createUser();
    const fresh = (await refresh(user.token)).json().Authorization as string;
    await h().inject('POST', '/v1/auth/logout', { headers: { Authorization: fresh } });
    const items = (await h().inject('GET', `/v1/audits?resourceUid=${user.uid}`, { headers: h().admin.auth })).json().items;
    const actions = items.map((a: any) => a.spec.action);
    for (const action of ['auth.signIn', 'auth.refresh', 'auth.logout']) assert.ok(actions.includes(action), `${action} in ${actions}`);
    const logout = items.find((a: any) => a.spec.action === 'auth.logout');
    assert.equal(logout.spec.actor.userUid, user.uid);
    assert.equal(logout.spec.details.session, claims(user.token).sid);
  });
});

eachDatabase(
  'refresh and the credential failure limit',
  (h) => {
    it('a bad, ended or expired token at refresh counts against the address like any bad credential', async () => {
      const user = await h().createUser();
      const ip = '10.50.0.1';
      const refresh = (token: string) => h().app.inject({ method: 'GET', url: `/v1/auth/refresh/${token}`, remoteAddress: ip });
      await h().inject('POST', '/v1/auth/logout', { headers: user.auth });
      for (const bad of ['not-a-token', user.token, 'eyJhbGciOiJIUzI1NiJ9.e30.x']) assert.equal((await refresh(bad)).statusCode, 401);
      const refused = await refresh('still-guessing');
      assert.equal(refused.statusCode, 429);
      assert.ok(Number(refused.headers['retry-after']) > 0);
      const elsewhere = await h().app.inject({ method: 'GET', url: '/v1/auth/refresh/not-a-token', remoteAddress: '10.50.0.2' });
      assert.equal(elsewhere.statusCode, 401, 'other addresses are unaffected');
    });
  },
  { authFailuresPerMinute: 3 },
);
