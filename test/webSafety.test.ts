/** Security headers, cookie flags, CSRF and cross-origin rules of the console and the API. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { eachDatabase } from './helpers/harness.js';

eachDatabase('web safety', (h) => {
  const signInWithCookie = async () => {
    const res = await h().inject('POST', '/v1/auth/authenticate', { body: { emailId: h().admin.email, password: h().admin.password } });
    const cookies = Object.fromEntries(res.cookies.map((c) => [c.name, c]));
    return { res, session: cookies.keyward_session, csrf: cookies.keyward_csrf };
  };

  it('the session cookie is HttpOnly and SameSite=Strict; the CSRF cookie is readable; ?setCookie=false sets none', async () => {
    const { session, csrf } = await signInWithCookie();
    assert.ok(session && csrf);
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(session.path, '/');
    assert.equal(csrf.httpOnly, undefined);
    assert.equal(csrf.sameSite, 'Strict');
    const none = await h().inject('POST', '/v1/auth/authenticate?setCookie=false', { body: { emailId: h().admin.email, password: h().admin.password } });
    assert.equal(none.cookies.length, 0);
  });

  it('cookie-authenticated writes need the CSRF token and the same origin; reads do not', async () => {
    const { session, csrf } = await signInWithCookie();
    const cookie = `keyward_session=${session.value}; keyward_csrf=${csrf.value}`;
    const body = { metadata: { name: `csrf-${Math.random()}` }, spec: { expiry: h().expiryIn(1) } };
    assert.equal((await h().inject('GET', '/v1/apiKeys', { headers: { cookie } })).statusCode, 200);
    const noToken = await h().inject('POST', '/v1/apiKeys', { headers: { cookie }, body });
    assert.equal(noToken.statusCode, 403);
    assert.equal(noToken.json().code, 'Forbidden');
    assert.equal((await h().inject('POST', '/v1/apiKeys', { headers: { cookie, 'x-csrf-token': 'wrong' }, body })).statusCode, 403);
    const crossOrigin = await h().inject('POST', '/v1/apiKeys', { headers: { cookie, 'x-csrf-token': csrf.value, origin: 'https://evil.example' }, body });
    assert.equal(crossOrigin.statusCode, 403);
    assert.equal((await h().inject('POST', '/v1/apiKeys', { headers: { cookie, 'x-csrf-token': csrf.value }, body })).statusCode, 201);
    // Logging out clears both cookies.
    const out = await h().inject('POST', '/v1/auth/logout');
    assert.deepEqual(out.cookies.map((c) => [c.name, c.value]).sort(), [['keyward_csrf', ''], ['keyward_session', '']]);
  });

  it('no CORS: no Access-Control headers, even for a preflight', async () => {
    const pre = await h().app.inject({ method: 'OPTIONS', url: '/v1/apiKeys', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(pre.headers['access-control-allow-origin'], undefined);
    assert.equal(pre.headers['access-control-allow-credentials'], undefined);
    const get = await h().inject('GET', '/v1/apiKeys', { headers: { ...h().admin.auth, origin: 'https://evil.example' } });
    assert.equal(get.headers['access-control-allow-origin'], undefined);
  });

  it('security headers on the console and the API', async () => {
    for (const url of ['/', '/keys', '/tenant/settings/api-keys']) {
      const page = await h().app.inject({ method: 'GET', url, headers: { accept: 'text/html' } });
      assert.equal(page.statusCode, 200, url);
      assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
      assert.match(String(page.headers['content-security-policy']), /frame-ancestors 'none'/);
      assert.equal(page.headers['x-frame-options'], 'DENY');
      assert.equal(page.headers['referrer-policy'], 'no-referrer');
      assert.equal(page.headers['x-content-type-options'], 'nosniff');
    }
    const api = await h().inject('GET', '/v1/apiKeys', { headers: h().admin.auth });
    assert.equal(api.headers['x-content-type-options'], 'nosniff');
    assert.equal(api.headers['cache-control'], 'no-store');
  });
});
