/**
 * Sign-in limits under concurrency: a burst of guesses, on one instance or several sharing the
 * database, gets no more password checks than the budget allows; the right password is still
 * refused while limited; a burst cannot slow other people's sign-in; and refusals cost a
 * bounded number of audit rows.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { it } from 'node:test';
import pino from 'pino';
import { buildApp } from '../src/http/app.js';
import { defaultSignInLimits, type SignInLimits } from '../src/service/auth.js';
import { createServices } from '../src/service/services.js';
import { Store } from '../src/store/store.js';
import { eachDatabase, type Harness, SECRET } from './helpers/harness.js';

const SECOND = 1000;
const limits: SignInLimits = {
  perAccountAndAddress: { free: 3, firstDelayMs: 10 * SECOND, growth: 2, maxDelayMs: 40 * SECOND, forgetAfterMs: 300 * SECOND },
  perAccount: { free: 6, firstDelayMs: 4 * SECOND, growth: 1.5, maxDelayMs: 12 * SECOND, forgetAfterMs: 300 * SECOND },
  perAddress: { free: 10, firstDelayMs: 30 * SECOND, growth: 2, maxDelayMs: 60 * SECOND, forgetAfterMs: 300 * SECOND },
};
const BURST = 300;

/** Another instance on the harness's database and clock, as a second server process would be. */
async function instance(h: Harness, signInLimits: SignInLimits, logger?: pino.Logger) {
  const store = await Store.open(h.db.url);
  const services = createServices(store, { secret: SECRET, now: () => h.clock.now, signInLimits, authFailuresPerMinute: 100_000 });
  const app = await buildApp({ services, logger });
  return {
    app,
    store,
    async close() {
      await app.close();
      await services.stop();
      await store.close();
    },
  };
}

const tally = (statuses: number[]) => statuses.reduce<Record<number, number>>((t, s) => ({ ...t, [s]: (t[s] ?? 0) + 1 }), {});

eachDatabase(
  'sign-in limits under concurrency',
  (h) => {
    const signIn = (emailId: string, password: string, ip: string, app = h().app) =>
      app.inject({ method: 'POST', url: '/v1/auth/authenticate', payload: { emailId, password }, remoteAddress: ip });

    it(`the reservation is atomic: ${BURST} at once, from several connections, get exactly the free tries`, async () => {
      const stores = [h().store, await Store.open(h().db.url), await Store.open(h().db.url)];
      try {
        const budget = limits.perAccount;
        const results = await Promise.all(
          Array.from({ length: BURST }, (_, i) => stores[i % stores.length]!.signInAttempts.reserve('account', 'atomic@example.com', budget, h().clock.now)),
        );
        assert.equal(results.filter((r) => r.ok).length, budget.free);
        assert.equal(await h().store.signInAttempts.failures('account', 'atomic@example.com'), budget.free, 'refusals are not counted');
        for (const r of results) if (!r.ok) assert.equal(r.retryAfterMs, budget.firstDelayMs);
      } finally {
        await stores[1]!.close();
        await stores[2]!.close();
      }
    });

    it(`${BURST} concurrent wrong passwords from one address: at most the budget is checked, the rest 429; the right password is refused while limited; two audit rows`, async () => {
      const user = await h().createUser();
      const ip = '10.20.0.1';
      const statuses = (await Promise.all(Array.from({ length: BURST }, () => signIn(user.email, 'wrong-password', ip)))).map((r) => r.statusCode);
      const t = tally(statuses);
      assert.deepEqual(Object.keys(t).sort(), ['401', '429'], JSON.stringify(t));
      assert.ok(t[401]! <= limits.perAccountAndAddress.free, `checked ${t[401]} passwords`);
      assert.equal(t[401]! + t[429]!, BURST);

      // One counted entry per reason, for this account, address and window: not one row each.
      await h().services.auth.refusals.flush();
      const rows = await h()
        .store.connection.db.selectFrom('audits')
        .selectAll()
        .where('resource_uid', '=', user.uid)
        .where('action', '=', 'auth.signInFailed')
        .execute();
      assert.equal(rows.length, 2);
      const audits = (await h().inject('GET', `/v1/audits?resourceUid=${user.uid}`, { headers: h().admin.auth })).json().items;
      const counts = Object.fromEntries(audits.filter((a: any) => a.spec.action === 'auth.signInFailed').map((a: any) => [a.spec.details.reason, a.spec.details.count]));
      assert.deepEqual(counts, { 'wrong-password': t[401], 'rate-limited': t[429] });

      // The burst may have been turned away before it used the whole budget: use up the rest.
      for (let i = t[401]!; i < limits.perAccountAndAddress.free; i++) assert.equal((await signIn(user.email, 'wrong-password', ip)).statusCode, 401);
      const refused = await signIn(user.email, user.password, ip);
      assert.equal(refused.statusCode, 429, 'no oracle: the right password is refused while limited');
      assert.ok(Number(refused.headers['retry-after']) > 0);
      assert.equal((await signIn(user.email, user.password, '10.20.0.2')).statusCode, 200, 'the owner elsewhere is not locked out');
    });

    it(`${BURST} concurrent wrong passwords from ${BURST} addresses: at most the account's budget is checked; the right password waits for the (short) delay`, async () => {
      const user = await h().createUser();
      const statuses = (await Promise.all(Array.from({ length: BURST }, (_, i) => signIn(user.email, 'wrong-password', `10.21.${i >> 8}.${i & 255}`)))).map((r) => r.statusCode);
      const t = tally(statuses);
      assert.ok(t[401]! <= limits.perAccount.free, `checked ${t[401]} passwords`);
      assert.equal(t[401]! + t[429]!, BURST);

      // Refusals from many addresses: each wrong password has its entry (the budget bounds them);
      // the first ten refused addresses have theirs, and all the others share one.
      await h().services.auth.refusals.flush();
      const rows = await h()
        .store.connection.db.selectFrom('audits')
        .selectAll()
        .where('resource_uid', '=', user.uid)
        .where('action', '=', 'auth.signInFailed')
        .execute();
      const byReason = (reason: string) => rows.filter((r) => JSON.parse(r.details).reason === reason);
      assert.equal(byReason('wrong-password').length, t[401]);
      assert.equal(byReason('rate-limited').length, 10 + 1);
      assert.equal(byReason('rate-limited').filter((r) => r.address === null).length, 1);
      assert.equal(rows.reduce((sum, r) => sum + Number(r.occurrences), 0), BURST);
      const saved = h().clock.now;
      try {
        // However many were checked, the owner's own try, from a fresh address, waits at most the cap.
        for (let i = 0; i < limits.perAccount.free + 5; i++) {
          const res = await signIn(user.email, user.password, `10.22.0.${i}`);
          if (res.statusCode === 200) return;
          assert.equal(res.statusCode, 429);
          const wait = Number(res.headers['retry-after']);
          assert.ok(wait <= limits.perAccount.maxDelayMs / SECOND, `waits ${wait} s`);
          h().clock.now += wait * SECOND;
        }
        assert.fail('the owner never got in');
      } finally {
        h().clock.now = saved;
      }
    });

    it('several instances on one database share the budget: a burst spread over them gets no more checks', async () => {
      const user = await h().createUser();
      const others = [await instance(h(), limits), await instance(h(), limits), await instance(h(), limits)];
      try {
        const apps = [h().app, ...others.map((o) => o.app)];
        const statuses = (await Promise.all(Array.from({ length: BURST }, (_, i) => signIn(user.email, 'wrong-password', '10.23.0.1', apps[i % apps.length])))).map(
          (r) => r.statusCode,
        );
        const t = tally(statuses);
        assert.ok(t[401]! <= limits.perAccountAndAddress.free, `checked ${t[401]} passwords over ${apps.length} instances`);
        assert.equal(t[401]! + t[429]!, BURST);
        // Attempts turned away as busy were never tried, and are not counted: spend what is left.
        for (let i = t[401]!; i < limits.perAccountAndAddress.free; i++) assert.equal((await signIn(user.email, 'wrong-password', '10.23.0.1')).statusCode, 401);
        for (const app of apps) assert.equal((await signIn(user.email, user.password, '10.23.0.1', app)).statusCode, 429);
      } finally {
        for (const o of others) await o.close();
      }
    });

    it('an IPv6 client is one address per /64: new addresses of it get no fresh budget, for one account or over many', async () => {
      const user = await h().createUser();
      // One account from one address: its free tries are shared by the whole /64.
      for (let i = 1; i <= limits.perAccountAndAddress.free; i++) assert.equal((await signIn(user.email, 'wrong-password', `2001:db8:a:1::${i}`)).statusCode, 401);
      assert.equal((await signIn(user.email, user.password, '2001:db8:a:1:ffff::1')).statusCode, 429, 'another address of the /64');
      assert.equal((await signIn(user.email, user.password, '2001:db8:a:2::1')).statusCode, 200, 'another /64 is another client');
      // Spraying over many accounts from one /64: the address budget holds.
      for (let i = 1; i <= limits.perAddress.free; i++) assert.equal((await signIn(`spray${i}@example.com`, 'wrong-password', `2001:db8:b:1::${i.toString(16)}`)).statusCode, 401);
      assert.equal((await signIn('spray-more@example.com', 'wrong-password', '2001:db8:b:1:1:2:3:4')).statusCode, 429);
      assert.equal((await signIn('spray-more@example.com', 'wrong-password', '2001:db8:b:2::1')).statusCode, 401);
    });

    it('an unknown account gets no audit row, only a log line that does not hold what was typed', async () => {
      const lines: string[] = [];
      const sink = new Writable({
        write(chunk, _enc, done) {
          lines.push(...String(chunk).split('\n').filter(Boolean));
          done();
        },
      });
      const logged = await instance(h(), limits, pino({ level: 'info' }, sink));
      try {
        const before = await h().store.connection.db.selectFrom('audits').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
        const email = 'Typed-My-Password-Here@example.com';
        const statuses = (await Promise.all(Array.from({ length: BURST }, () => signIn(email, 'wrong-password', '10.24.0.1', logged.app)))).map((r) => r.statusCode);
        assert.equal(statuses.filter((s) => s === 401).length <= limits.perAccountAndAddress.free, true);
        const after = await h().store.connection.db.selectFrom('audits').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
        assert.equal(Number(after.n), Number(before.n), 'no audit row for an account that does not exist');
        const refusals = lines.map((l) => JSON.parse(l)).filter((l) => l.event === 'auth.signInFailed');
        assert.equal(refusals.length, BURST);
        assert.ok(refusals.some((l) => l.reason === 'unknown-account' && l.address === '10.24.0.1'));
        assert.ok(refusals.every((l) => l.level === 30 && typeof l.account === 'string' && l.reqId));
        assert.ok(!lines.some((l) => l.toLowerCase().includes('typed-my-password-here')), 'the name typed is not logged in clear');
      } finally {
        await logged.close();
      }
    });
  },
  { signInLimits: limits },
);

eachDatabase('sign-in under a burst, with the default limits', (h) => {
  it(`a legitimate sign-in from another address stays fast during a ${BURST}-request wrong-password burst against one account`, async () => {
    const target = await h().createUser();
    const person = await h().createUser();
    const inject = (emailId: string, password: string, ip: string) => h().app.inject({ method: 'POST', url: '/v1/auth/authenticate', payload: { emailId, password }, remoteAddress: ip });
    /** How long the person's sign-in takes while `burst` requests are in flight. */
    const during = async (burst: () => Promise<unknown>[]) => {
      const inFlight = Promise.all(burst());
      // Let the burst reach the hashing threads first.
      await new Promise((resolve) => setImmediate(resolve));
      const start = performance.now();
      const res = await inject(person.email, person.password, '10.30.0.1');
      const took = performance.now() - start;
      assert.equal(res.statusCode, 200);
      return { took, answers: await inFlight };
    };
    // The yardstick: as many requests that read the database once and hash nothing (a guess
    // turned away reads the account). On one Node thread and one connection pool, any burst
    // costs the others something; a burst of guesses must cost about as little.
    // Warm both paths up first: the first run of any code path pays for compiling it.
    const warm = await h().createUser();
    await Promise.all(Array.from({ length: 50 }, (_, i) => inject(warm.email, 'wrong-password', `10.32.0.${i}`)));
    await Promise.all(Array.from({ length: 50 }, () => h().inject('GET', '/v1/users/info', { headers: h().admin.auth })));
    const harmless = await during(() => Array.from({ length: BURST }, () => h().inject('GET', '/v1/users/info', { headers: h().admin.auth })));
    const guesses = await during(() => Array.from({ length: BURST }, (_, i) => inject(target.email, 'wrong-password', `10.31.${i >> 8}.${i & 255}`)));
    const t = tally((guesses.answers as { statusCode: number }[]).map((r) => r.statusCode));
    console.log(`sign-in during ${BURST} harmless requests: ${harmless.took.toFixed(0)} ms; during ${BURST} guesses: ${guesses.took.toFixed(0)} ms; guesses answered ${JSON.stringify(t)}`);
    assert.ok(t[401]! <= defaultSignInLimits.perAccount.free);
    // Without the bound on concurrent checks, the burst's 300 scrypt runs queue in front of it:
    // 30 s and more on a 2-core machine, against about a second here. The margin is for a busy machine.
    assert.ok(guesses.took < 4 * harmless.took + 2000, `sign-in took ${guesses.took.toFixed(0)} ms during the guesses, ${harmless.took.toFixed(0)} ms during harmless requests`);
  });
});
