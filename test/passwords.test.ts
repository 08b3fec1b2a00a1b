/**
 * Passwords: the one policy wherever a password is set (API, CLI, first start, change, reset);
 * Palette's password change, limited like a sign-in and ending the user's other sessions; a
 * tenant admin's reset, ending all of them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkNewPassword } from '../src/domain/passwordPolicy.js';
import type { SignInLimits } from '../src/service/auth.js';
import { createSqlite } from './helpers/databases.js';
import { eachDatabase } from './helpers/harness.js';
import { run, startServer } from './helpers/server.js';

const SECOND = 1000;
const limits: SignInLimits = {
  perAccountAndAddress: { free: 3, firstDelayMs: 10 * SECOND, growth: 2, maxDelayMs: 40 * SECOND, forgetAfterMs: 300 * SECOND },
  perAccount: { free: 6, firstDelayMs: 4 * SECOND, growth: 1.5, maxDelayMs: 12 * SECOND, forgetAfterMs: 300 * SECOND },
  perAddress: { free: 10, firstDelayMs: 30 * SECOND, growth: 2, maxDelayMs: 60 * SECOND, forgetAfterMs: 300 * SECOND },
};

describe('the password policy', () => {
  const refusal = (password: string, email = 'alice@example.com') => {
    try {
      checkNewPassword(password, email, 'newPassword');
      return undefined;
    } catch (err: any) {
      assert.equal(err.status, 400);
      assert.equal(err.details.field, 'newPassword');
      return err.message as string;
    }
  };

  it('names the rule a password breaks', () => {
    assert.match(refusal('eleven-char')!, /at least 12 characters/);
    assert.match(refusal('x'.repeat(1025))!, /at most 1024 characters/);
    assert.match(refusal('Alice@Example.com')!, /must not be the email address/);
    assert.match(refusal('my-ALICE-password')!, /must not contain the name part of the email address/);
    assert.equal(refusal('twelve-chars'), undefined);
    assert.equal(refusal('x'.repeat(1024)), undefined);
    // Characters, not UTF-16 units: twelve emoji are twelve characters.
    assert.equal(refusal('🔑'.repeat(12)), undefined);
    assert.match(refusal('🔑'.repeat(11))!, /at least 12/);
    // A one- or two-letter name is too short to mean anything inside a password.
    assert.equal(refusal('a-perfectly-fine-passphrase', 'a@example.com'), undefined);
  });
});

eachDatabase(
  'passwords',
  (h) => {
    const change = (body: unknown, headers: Record<string, string> = {}, ip = '127.0.0.1') =>
      h().app.inject({ method: 'PATCH', url: '/v1/users/password/change', payload: body as any, headers, remoteAddress: ip });
    const signIn = (email: string, password: string, ip = '127.0.0.1') =>
      h().app.inject({ method: 'POST', url: '/v1/auth/authenticate', payload: { emailId: email, password }, remoteAddress: ip });
    const info = (headers: Record<string, string>) => h().inject('GET', '/v1/users/info', { headers });

    it('PATCH /v1/users/password/change: 204; the calling session stays, the user\'s other sessions end; the new password works', async () => {
      const user = await h().createUser();
      const other = await h().signIn(user.email, user.password);
      const res = await change({ emailId: user.email, currentPassword: user.password, newPassword: 'a-brand-new-passphrase' }, user.auth);
      assert.equal(res.statusCode, 204, res.body);
      assert.equal((await info(user.auth)).statusCode, 200, 'the session that changed it stays');
      assert.equal((await info(other.auth)).statusCode, 401, 'another session ends');
      assert.equal((await signIn(user.email, user.password)).statusCode, 401, 'the old password no longer works');
      assert.equal((await signIn(user.email, 'a-brand-new-passphrase')).statusCode, 200);
      const audits = (await h().inject('GET', `/v1/audits?resourceUid=${user.uid}`, { headers: h().admin.auth })).json().items;
      const changed = audits.find((a: any) => a.spec.action === 'user.passwordChange');
      assert.ok(changed, 'the change is audited');
      assert.equal(changed.spec.actor.userUid, user.uid);
      assert.equal(changed.spec.details.sessionsEnded, 1);
    });

    it('works without a session, ending every session; with the cookie, needs the CSRF token and keeps that session', async () => {
      const user = await h().createUser();
      const res = await change({ emailId: user.email, currentPassword: user.password, newPassword: 'changed-without-a-session' });
      assert.equal(res.statusCode, 204);
      assert.equal((await info(user.auth)).statusCode, 401);

      const signedIn = await h().inject('POST', '/v1/auth/authenticate', { body: { emailId: user.email, password: 'changed-without-a-session' } });
      const jar = Object.fromEntries(signedIn.cookies.map((c) => [c.name, c.value]));
      const cookie = `keyward_session=${jar.keyward_session}; keyward_csrf=${jar.keyward_csrf}`;
      const body = { emailId: user.email, currentPassword: 'changed-without-a-session', newPassword: 'changed-from-the-console' };
      assert.equal((await change(body, { cookie })).statusCode, 403, 'no CSRF token');
      assert.equal((await change(body, { cookie, 'x-csrf-token': jar.keyward_csrf! })).statusCode, 204);
      assert.equal((await info({ cookie })).statusCode, 200, 'the console session that changed it stays');
    });

    it('a wrong current password is a 401 the form can show, counted like a sign-in: the same budget, the same refusal', async () => {
      const user = await h().createUser();
      const ip = '10.60.0.1';
      const unknown = await change({ emailId: 'nobody@example.com', currentPassword: 'whatever-it-is', newPassword: 'a-good-new-password' }, {}, ip);
      const wrong = await change({ emailId: user.email, currentPassword: 'not-my-password', newPassword: 'a-good-new-password' }, {}, ip);
      assert.equal(wrong.statusCode, 401);
      assert.equal(wrong.json().code, 'Unauthorized');
      assert.equal(wrong.json().message, 'The email or current password is incorrect.');
      assert.equal(wrong.json().details.field, 'currentPassword');
      assert.deepEqual(unknown.json().message, wrong.json().message, 'an unknown account reads the same');
      // Sign-in and change draw on one budget per account and address.
      assert.equal((await signIn(user.email, 'still-not-it', ip)).statusCode, 401);
      assert.equal((await change({ emailId: user.email, currentPassword: 'nor-this-one', newPassword: 'a-good-new-password' }, {}, ip)).statusCode, 401);
      const limited = await change({ emailId: user.email, currentPassword: user.password, newPassword: 'a-good-new-password' }, {}, ip);
      assert.equal(limited.statusCode, 429, 'the right password is refused while limited');
      assert.ok(Number(limited.headers['retry-after']) > 0);
      assert.equal((await signIn(user.email, user.password, ip)).statusCode, 429);
      assert.equal((await signIn(user.email, user.password, '10.60.0.2')).statusCode, 200, 'unchanged, and not locked elsewhere');
      await h().services.auth.refusals.flush();
      const audits = (await h().inject('GET', `/v1/audits?resourceUid=${user.uid}`, { headers: h().admin.auth })).json().items;
      const failed = audits.filter((a: any) => a.spec.action === 'user.passwordChangeFailed');
      assert.deepEqual(failed.map((a: any) => [a.spec.details.reason, a.spec.details.count]).sort(), [['rate-limited', 1], ['wrong-password', 2]]);
    });

    it('a new password that breaks the policy is a 400 naming the rule, and changes nothing', async () => {
      const user = await h().createUser();
      const local = user.email.split('@')[0]!;
      const cases: [string, RegExp][] = [
        ['short-pass', /at least 12 characters/],
        ['y'.repeat(1025), /at most 1024 characters/],
        [user.email.toUpperCase(), /must not be the email address/],
        [`${local}-and-more`, /name part of the email address/],
        [user.password, /different from the current one/],
      ];
      for (const [newPassword, message] of cases) {
        const res = await change({ emailId: user.email, currentPassword: user.password, newPassword }, user.auth);
        assert.equal(res.statusCode, 400, newPassword);
        assert.equal(res.json().code, 'BadRequest');
        assert.match(res.json().message, message);
        assert.equal(res.json().details.field, 'newPassword');
      }
      assert.equal((await info(user.auth)).statusCode, 200);
      assert.equal((await signIn(user.email, user.password)).statusCode, 200, 'the password is unchanged');
      for (const body of [{}, { emailId: user.email, currentPassword: user.password }, { emailId: user.email, currentPassword: 1, newPassword: 'a-good-new-password' }, null]) {
        const res = await change(body);
        assert.equal(res.statusCode, 400, JSON.stringify(body));
        assert.equal(res.json().code, 'BadRequest');
      }
    });

    it('a tenant admin resets a user\'s password: 204, and all of that user\'s sessions end', async () => {
      const user = await h().createUser();
      const other = await h().signIn(user.email, user.password);
      const reset = (uid: string, newPassword: string, headers = h().admin.auth, currentPassword = h().admin.password) =>
        h().inject('PATCH', `/v1/users/${uid}/password/reset`, { headers, body: { newPassword, currentPassword } });
      assert.equal((await reset(user.uid, 'reset-by-the-admin')).statusCode, 204);
      assert.equal((await info(user.auth)).statusCode, 401);
      assert.equal((await info(other.auth)).statusCode, 401);
      assert.equal((await signIn(user.email, 'reset-by-the-admin')).statusCode, 200);
      const audits = (await h().inject('GET', `/v1/audits?resourceUid=${user.uid}`, { headers: h().admin.auth })).json().items;
      const entry = audits.find((a: any) => a.spec.action === 'user.passwordReset');
      assert.ok(entry, 'the reset is audited');
      assert.equal(entry.spec.actor.userUid, h().admin.uid);
      assert.equal(entry.spec.details.sessionsEnded, 2);

      const weak = await reset(user.uid, 'short');
      assert.equal(weak.statusCode, 400);
      assert.equal(weak.json().details.field, 'newPassword');
      const plain = await h().signIn(user.email, 'reset-by-the-admin');
      const self = await reset(user.uid, 'plain-user-tries-this', plain.auth);
      assert.equal(self.statusCode, 403, 'a plain user cannot reset, even their own');
      assert.match(self.json().message, /password\/change/);
      assert.equal((await reset(h().admin.uid, 'not-yours-to-reset', plain.auth)).statusCode, 403);
      const foreign = await h().createTenant(`pw-${Date.now()}`);
      assert.equal((await reset(user.uid, 'other-tenant-admin', foreign.auth, foreign.password)).statusCode, 404, 'another tenant\'s user is not found');
      assert.equal((await reset('000000000000000000000000', 'nobody-is-here')).statusCode, 404);
      assert.equal((await signIn(user.email, 'reset-by-the-admin')).statusCode, 200, 'none of those changed it');
    });

    it('a reset needs a person: not an API key, not on oneself, and the admin\'s own password (r2 F3)', async () => {
      const user = await h().createUser();
      const admin = await h().createUser({ admin: true });
      const reset = (uid: string, body: unknown, headers: Record<string, string> = admin.auth) => h().inject('PATCH', `/v1/users/${uid}/password/reset`, { headers, body });
      const key = await h().createKey(admin);
      const byKey = await reset(user.uid, { newPassword: 'taken-over-by-key', currentPassword: admin.password }, { ApiKey: key.apiKey });
      assert.equal(byKey.statusCode, 403, byKey.body);
      assert.match(byKey.json().message, /session/);
      const self = await reset(admin.uid, { newPassword: 'my-own-new-password', currentPassword: admin.password });
      assert.equal(self.statusCode, 403, self.body);
      assert.match(self.json().message, /password\/change/);
      const selfByKey = await reset(admin.uid, { newPassword: 'my-own-new-password' }, { ApiKey: key.apiKey });
      assert.equal(selfByKey.statusCode, 400, 'the own password is required');
      const wrong = await reset(user.uid, { newPassword: 'taken-over-by-thief', currentPassword: 'a-guess-at-it-1' });
      assert.equal(wrong.statusCode, 401, wrong.body);
      assert.equal(wrong.json().details.field, 'currentPassword');
      assert.equal((await info(admin.auth)).statusCode, 200, 'the session goes on');
      // The admin's password is guessed within the sign-in budgets of the admin's account.
      for (let i = 1; i < limits.perAccountAndAddress.free; i++) assert.equal((await reset(user.uid, { newPassword: 'taken-over-by-thief', currentPassword: `guess-${i}-at-it` })).statusCode, 401);
      assert.equal((await reset(user.uid, { newPassword: 'taken-over-by-thief', currentPassword: admin.password })).statusCode, 429, 'past the budget, even the right one waits');
      assert.equal((await signIn(user.email, user.password)).statusCode, 200, 'none of those changed it');
      assert.equal((await signIn(admin.email, admin.password)).statusCode, 429, 'the guesses counted against the admin\'s sign-in');
      h().clock.now += limits.perAccount.maxDelayMs + limits.perAccountAndAddress.maxDelayMs;
      assert.equal((await reset(user.uid, { newPassword: 'set-by-the-admin-1', currentPassword: admin.password })).statusCode, 204);
      assert.equal((await signIn(user.email, 'set-by-the-admin-1')).statusCode, 200);
    });

    it('creating a user through the API applies the policy', async () => {
      const create = (emailId: string, password: string) => h().inject('POST', '/v1/users', { headers: h().admin.auth, body: { spec: { emailId, password } } });
      const short = await create('newcomer@example.com', 'eleven-char');
      assert.equal(short.statusCode, 400);
      assert.match(short.json().message, /at least 12 characters/);
      assert.equal(short.json().details.field, 'spec.password');
      assert.match((await create('newcomer@example.com', 'newcomer-password')).json().message, /name part of the email address/);
      assert.equal((await create('newcomer@example.com', 'a-fine-password')).statusCode, 201);
    });
  },
  { signInLimits: limits },
);

describe('the password policy at the command line and at first start', () => {
  it('keyward user create and tenant create refuse a password that breaks it, saying why', async () => {
    const db = await createSqlite();
    const env = { KEYWARD_DATABASE_URL: db.url, KEYWARD_SECRET: 'policy-test-secret-0123456' };
    try {
      const tenant = await run(['tenant', 'create', '--name', 'acme', '--admin-email', 'boss@acme.example', '--admin-password', 'the-boss-password'], { env });
      assert.equal(tenant.code, 1);
      assert.match(tenant.stderr, /must not contain the name part of the email address/);
      assert.equal((await run(['tenant', 'create', '--name', 'acme', '--admin-email', 'boss@acme.example', '--admin-password', 'a-strong-passphrase'], { env })).code, 0);
      const user = await run(['user', 'create', '--tenant', 'acme', '--email', 'dev@acme.example', '--password', 'too-short'], { env });
      assert.equal(user.code, 1);
      assert.match(user.stderr, /at least 12 characters/);
    } finally {
      await db.drop();
    }
  });

  it('the first start refuses a KEYWARD_ADMIN_PASSWORD that breaks it, naming the setting', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyward-policy-'));
    try {
      const started = startServer({ cwd: dir, env: { KEYWARD_DATABASE_URL: '', KEYWARD_SECRET: '', KEYWARD_ADMIN_PASSWORD: 'short-one' } });
      const err = await started.then(
        async (server) => {
          await server.stop();
          return undefined;
        },
        (e: Error) => e,
      );
      assert.ok(err, 'the server must not start');
      assert.match(err.message, /KEYWARD_ADMIN_PASSWORD: The password must be at least 12 characters long/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
