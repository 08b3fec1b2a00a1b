/**
 * Service accounts (CONTRACT §6.1, `spec.kind: "service"`): a user that has no password, cannot
 * sign in (refused exactly as a wrong password is, and counted the same), and owns keys that a
 * tenant admin makes for it.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { SignInLimits } from '../src/service/auth.js';
import { hashPassword } from '../src/service/passwords.js';
import { eachDatabase } from './helpers/harness.js';

const SECOND = 1000;
// Small budgets, so that "counted the same" shows within a few attempts.
const signInLimits: SignInLimits = {
  perAccountAndAddress: { free: 3, firstDelayMs: 60 * SECOND, growth: 2, maxDelayMs: 120 * SECOND, forgetAfterMs: 600 * SECOND },
  perAccount: { free: 50, firstDelayMs: 4 * SECOND, growth: 1.5, maxDelayMs: 12 * SECOND, forgetAfterMs: 600 * SECOND },
  perAddress: { free: 1000, firstDelayMs: 30 * SECOND, growth: 2, maxDelayMs: 60 * SECOND, forgetAfterMs: 600 * SECOND },
};

let seq = 0;
const email = (what: string) => `${what}-${++seq}-${Math.random().toString(36).slice(2, 6)}@example.com`;

eachDatabase(
  'service accounts',
  (h) => {
    const createService = async (spec: Record<string, unknown> = {}, by = h().admin) => {
      const emailId = email('robot');
      const res = await h().inject('POST', '/v1/users', { headers: by.auth, body: { spec: { emailId, firstName: 'CI', lastName: 'Deployer', kind: 'service', ...spec } } });
      return { res, emailId, uid: res.statusCode === 201 ? (res.json().uid as string) : '' };
    };
    const signIn = (emailId: string, password: string, ip = '10.9.8.7') =>
      h().app.inject({ method: 'POST', url: '/v1/auth/authenticate', payload: { emailId, password }, remoteAddress: ip });
    const getUser = async (uid: string) => (await h().inject('GET', `/v1/users/${uid}`, { headers: h().admin.auth })).json();

    it('POST /v1/users with spec.kind "service" makes one; every user answer says its kind, "person" by default', async () => {
      const { res, uid, emailId } = await createService();
      assert.equal(res.statusCode, 201, res.body);
      const got = await getUser(uid);
      assert.equal(got.spec.kind, 'service');
      assert.equal(got.spec.emailId, emailId);
      assert.equal(got.metadata.name, 'CI Deployer');
      const person = await h().createUser();
      assert.equal((await getUser(person.uid)).spec.kind, 'person');
      const listed = (await h().inject('GET', '/v1/users?limit=1000', { headers: h().admin.auth })).json().items;
      assert.equal(listed.find((u: any) => u.metadata.uid === uid).spec.kind, 'service');
      assert.equal(listed.find((u: any) => u.metadata.uid === person.uid).spec.kind, 'person');
      const streamed = (await h().inject('GET', '/v1/users?limit=0', { headers: h().admin.auth })).json().items;
      assert.equal(streamed.find((u: any) => u.metadata.uid === uid).spec.kind, 'service');
      // A person may read themselves, and is told they are a person.
      assert.equal((await h().inject('GET', `/v1/users/${person.uid}`, { headers: person.auth })).json().spec.kind, 'person');
      const audit = (await h().inject('GET', `/v1/audits?resourceUid=${uid}`, { headers: h().admin.auth })).json().items;
      assert.equal(audit.find((a: any) => a.spec.action === 'user.create').spec.details.kind, 'service');
    });

    it('may be a tenant admin (an automation may administer keys)', async () => {
      const { res, uid } = await createService({ roles: ['tenant-admin'] });
      assert.equal(res.statusCode, 201, res.body);
      assert.deepEqual((await getUser(uid)).spec.roles, ['tenant-admin']);
    });

    it('refuses a password for a service account, and an unknown kind, with 400, creating nothing', async () => {
      const emailId = email('pw');
      const withPassword = await h().inject('POST', '/v1/users', {
        headers: h().admin.auth,
        body: { spec: { emailId, kind: 'service', password: 'a-long-enough-password' } },
      });
      assert.equal(withPassword.statusCode, 400, withPassword.body);
      assert.match(withPassword.json().message, /service account has no password/);
      assert.equal(withPassword.json().details.field, 'spec.password');
      for (const kind of ['robot', 'Service', '', 1, null, ['service']]) {
        const res = await h().inject('POST', '/v1/users', { headers: h().admin.auth, body: { spec: { emailId, kind } } });
        assert.equal(res.statusCode, 400, `${JSON.stringify(kind)}: ${res.body}`);
      }
      // Nothing was made under that email: it is free.
      const ok = await h().inject('POST', '/v1/users', { headers: h().admin.auth, body: { spec: { emailId, kind: 'service' } } });
      assert.equal(ok.statusCode, 201, ok.body);
    });

    it('cannot sign in: answered exactly as a wrong password, whatever password is tried', async () => {
      const { uid, emailId } = await createService();
      const person = await h().createUser();
      const wrong = await signIn(person.email, 'not-the-password-at-all', '10.1.0.1');
      for (const [i, password] of ['', 'x', 'not-the-password-at-all', 'a'.repeat(1024)].entries()) {
        const res = await signIn(emailId, password, `10.1.1.${i}`);
        assert.equal(res.statusCode, wrong.statusCode, res.body);
        // Everything but the request's own reference.
        assert.deepEqual({ ...(res.json() as object), ref: undefined }, { ...(wrong.json() as object), ref: undefined });
        assert.equal(res.headers['set-cookie'], undefined);
      }
      // Audited as a wrong password on that account, as a person's would be.
      const audit = (await h().inject('GET', `/v1/audits?resourceUid=${uid}`, { headers: h().admin.auth })).json().items;
      const refused = audit.find((a: any) => a.spec.action === 'auth.signInFailed');
      assert.ok(refused, JSON.stringify(audit));
      assert.equal(refused.spec.details.reason, 'wrong-password');
    });

    it('cannot sign in even if its row holds a password hash (a service account has no password, whatever is stored)', async () => {
      const { uid, emailId } = await createService();
      const password = 'a-password-someone-stored';
      await h().store.connection.db.updateTable('users').set({ password_hash: await hashPassword(password) }).where('uid', '=', uid).execute();
      const res = await signIn(emailId, password, '10.1.0.3');
      assert.equal(res.statusCode, 401, res.body);
      assert.equal(res.json().message, 'The email or password is incorrect.');
    });

    it('its refusals are counted in the same guessing budgets as a wrong password', async () => {
      const { emailId } = await createService();
      const person = await h().createUser();
      const codes = async (who: string, ip: string) => {
        const out: number[] = [];
        for (let i = 0; i < 5; i++) out.push((await signIn(who, 'wrong-password-guess', ip)).statusCode);
        return out;
      };
      const asPerson = await codes(person.email, '10.2.0.1');
      const asService = await codes(emailId, '10.2.0.2');
      assert.deepEqual(asService, asPerson);
      assert.deepEqual(asService, [401, 401, 401, 429, 429]);
    });

    it('takes as long to refuse as a wrong password does (no timing difference to find service accounts by)', async () => {
      const { emailId } = await createService();
      const person = await h().createUser();
      const time = async (who: string, i: number) => {
        const start = process.hrtime.bigint();
        await signIn(who, `timing-guess-${i}`, `10.3.${i}.1`);
        return Number(process.hrtime.bigint() - start) / 1e6;
      };
      const service: number[] = [];
      const people: number[] = [];
      for (let i = 0; i < 3; i++) {
        people.push(await time(person.email, i));
        service.push(await time(emailId, i + 10));
      }
      // A password hash takes tens of milliseconds; a refusal that skipped it would take a few.
      const fastest = (xs: number[]) => Math.min(...xs);
      assert.ok(fastest(service) > fastest(people) / 2, `service ${service.join(',')} ms vs person ${people.join(',')} ms`);
    });

    it('has no password to reset (400) or change (refused as a wrong current password), and still cannot sign in after', async () => {
      const { uid, emailId } = await createService();
      const reset = await h().inject('PATCH', `/v1/users/${uid}/password/reset`, {
        headers: h().admin.auth,
        body: { newPassword: 'a-password-for-the-robot', currentPassword: h().admin.password },
      });
      assert.equal(reset.statusCode, 400, reset.body);
      assert.match(reset.json().message, /service accounts have no password/);
      assert.equal((await signIn(emailId, 'a-password-for-the-robot', '10.4.0.1')).statusCode, 401);
      // The change needs no session: a 400 there would tell anyone the email is a service account's.
      const change = await h().app.inject({
        method: 'PATCH',
        url: '/v1/users/password/change',
        payload: { emailId, currentPassword: 'anything-at-all-here', newPassword: 'a-password-for-the-robot-2' },
        remoteAddress: '10.4.0.2',
      });
      assert.equal(change.statusCode, 401, change.body);
      assert.equal(change.json().message, 'The email or current password is incorrect.');
      assert.equal((await signIn(emailId, 'a-password-for-the-robot-2', '10.4.0.3')).statusCode, 401);
    });

    it('PUT and PATCH cannot change a user\'s kind; sending back the kind it has is fine', async () => {
      const { uid } = await createService();
      const person = await h().createUser();
      const put = (who: string, spec: object) => h().inject('PUT', `/v1/users/${who}`, { headers: h().admin.auth, body: { spec } });
      const toPerson = await put(uid, { kind: 'person', firstName: 'Changed' });
      assert.equal(toPerson.statusCode, 400, toPerson.body);
      assert.equal(toPerson.json().details.field, 'spec.kind');
      const toService = await put(person.uid, { kind: 'service' });
      assert.equal(toService.statusCode, 400, toService.body);
      assert.equal((await put(uid, { kind: 'robot' })).statusCode, 400);
      const same = await put(uid, { kind: 'service', firstName: 'Renamed' });
      assert.equal(same.statusCode, 204, same.body);
      for (const op of ['replace', 'add', 'remove']) {
        const patch = await h().inject('PATCH', `/v1/users/${uid}`, { headers: h().admin.auth, body: [{ op, path: '/spec/kind', value: 'person' }] });
        assert.equal(patch.statusCode, 400, patch.body);
        assert.match(patch.json().message, /kind .* cannot be changed/);
      }
      const after = await getUser(uid);
      assert.equal(after.spec.kind, 'service');
      assert.equal(after.spec.firstName, 'Renamed', 'only the refused changes were left out');
      assert.equal((await getUser(person.uid)).spec.kind, 'person');
      assert.equal((await signIn(person.email, person.password, '10.5.0.1')).statusCode, 200, 'the person can still sign in');
    });

    it('a tenant admin makes keys for it, and they work as the service account', async () => {
      const { uid } = await createService();
      const key = await h().createKey(h().admin, { userUid: uid });
      const info = await h().inject('GET', '/v1/users/info', { headers: { ApiKey: key.apiKey } });
      assert.equal(info.statusCode, 200, info.body);
      assert.equal(info.json().userUid, uid);
      const check = await h().inject('GET', '/v1/auth/check', { headers: { ApiKey: key.apiKey } });
      assert.equal(check.statusCode, 200);
      assert.equal(check.headers['x-keyward-user'], uid);
      const listed = (await h().inject('GET', `/v1/apiKeys?userUid=${uid}`, { headers: h().admin.auth })).json().items;
      assert.deepEqual(
        listed.map((k: any) => k.metadata.uid),
        [key.uid],
      );
    });

    it('a plain user can neither make a service account nor make keys for one', async () => {
      const plain = await h().createUser();
      const { res } = await createService({}, plain);
      assert.equal(res.statusCode, 403, res.body);
      const { uid } = await createService();
      const key = await h().inject('POST', '/v1/apiKeys', {
        headers: plain.auth,
        body: { metadata: { name: 'sneaky' }, spec: { expiry: h().expiryIn(10), userUid: uid } },
      });
      assert.equal(key.statusCode, 403, key.body);
      const keys = (await h().inject('GET', `/v1/apiKeys?userUid=${uid}`, { headers: h().admin.auth })).json().items;
      assert.deepEqual(keys, []);
    });
  },
  { signInLimits },
);
