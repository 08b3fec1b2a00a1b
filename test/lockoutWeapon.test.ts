/**
 * Lockout as a weapon (security review r2, F1, F2, F4): guessers spread over many addresses, or
 * sharing the owner's address, or flooding one account, must not keep the owner out. A browser
 * that signed in before holds a device cookie (OWASP's device cookies) and is judged on its own
 * budget; unknown clients keep the account's and the address's budgets; the in-process slots
 * are taken only by attempts the budgets let through.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { SignInLimits } from '../src/service/auth.js';
import { eachDatabase } from './helpers/harness.js';

const SECOND = 1000;
const limits: SignInLimits = {
  perAccountAndAddress: { free: 3, firstDelayMs: 10 * SECOND, growth: 2, maxDelayMs: 40 * SECOND, forgetAfterMs: 300 * SECOND },
  perAccount: { free: 6, firstDelayMs: 4 * SECOND, growth: 1.5, maxDelayMs: 12 * SECOND, forgetAfterMs: 300 * SECOND },
  perAddress: { free: 10, firstDelayMs: 30 * SECOND, growth: 2, maxDelayMs: 60 * SECOND, forgetAfterMs: 300 * SECOND },
  perDevice: { free: 3, firstDelayMs: 10 * SECOND, growth: 2, maxDelayMs: 40 * SECOND, forgetAfterMs: 300 * SECOND },
};

eachDatabase(
  'lockout as a weapon',
  (h) => {
    const signIn = (emailId: string, password: string, ip: string, cookies: Record<string, string> = {}) =>
      h().app.inject({ method: 'POST', url: '/v1/auth/authenticate', payload: { emailId, password }, remoteAddress: ip, cookies });
    /** Signs in once from `ip` and returns the device cookie the browser would keep. */
    const knownBrowser = async (email: string, password: string, ip: string) => {
      const res = await signIn(email, password, ip);
      assert.equal(res.statusCode, 200, res.body);
      const device = res.cookies.find((c: any) => c.name.startsWith('keyward_device_')) as any;
      assert.ok(device, 'a device cookie is set beside the session cookie');
      assert.equal(device.httpOnly, true);
      assert.equal(device.sameSite, 'Strict');
      assert.equal(device.path, '/v1/');
      assert.ok(device.maxAge >= 90 * 86_400, 'long-lived');
      assert.ok(!device.value.includes(password));
      return { [device.name as string]: device.value as string };
    };

    it('F1: guessers over many addresses exhaust the account; its owner, from a known browser, still signs in', async () => {
      const owner = await h().createUser({ admin: true });
      const device = await knownBrowser(owner.email, owner.password, '10.60.0.1');
      for (let i = 0; i < 40; i++) await signIn(owner.email, `guess-${i}-password`, `10.61.${i}.1`);
      assert.equal((await signIn(owner.email, owner.password, '10.62.0.1')).statusCode, 429, 'an unknown client meets the exhausted account budget, as before');
      const res = await signIn(owner.email, owner.password, '10.60.0.1', device);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal((await signIn(owner.email, owner.password, '10.63.0.1', device)).statusCode, 200, 'from any address');
      assert.equal((await signIn(owner.email, owner.password, '10.62.0.1')).statusCode, 429, "the owner's sign-in does not hand the guessers a fresh budget");

      // The cookie is bound to its account, and cannot be forged.
      const other = await h().createUser();
      const otherDevice = await knownBrowser(other.email, other.password, '10.60.0.2');
      const [name, value] = Object.entries(device)[0]!;
      const [otherName, otherValue] = Object.entries(otherDevice)[0]!;
      assert.equal((await signIn(owner.email, owner.password, '10.60.0.1', { [name]: otherValue })).statusCode, 429, "another account's cookie under this name");
      assert.equal((await signIn(owner.email, owner.password, '10.60.0.1', { [otherName]: otherValue })).statusCode, 429, "another account's cookie");
      assert.equal((await signIn(owner.email, owner.password, '10.60.0.1', { [name]: `${value.slice(0, -2)}AA` })).statusCode, 429, 'a forged signature');
    });

    it('F1: a known browser has a budget of its own: a few wrong passwords, then growing delays', async () => {
      const user = await h().createUser();
      const device = await knownBrowser(user.email, user.password, '10.64.0.1');
      for (let i = 0; i < limits.perDevice!.free; i++) assert.equal((await signIn(user.email, `wrong-${i}-password`, '10.64.0.1', device)).statusCode, 401);
      const limited = await signIn(user.email, user.password, '10.64.0.1', device);
      assert.equal(limited.statusCode, 429, 'a stolen cookie is no way around guessing limits');
      assert.equal(limited.json().code, 'TooManyRequests');
      h().clock.now += limits.perDevice!.firstDelayMs;
      assert.equal((await signIn(user.email, user.password, '10.64.0.1', device)).statusCode, 200);
    });

    it('F4: one address spraying made-up emails does not block a known browser behind the same address', async () => {
      const person = await h().createUser();
      const nat = '10.65.0.1';
      const device = await knownBrowser(person.email, person.password, nat);
      for (let i = 0; i < 30; i++) await signIn(`nobody-${i}@example.com`, 'spray-password-1', nat);
      assert.equal((await signIn(person.email, person.password, nat)).statusCode, 429, 'an unknown client behind the address meets its budget, as before');
      assert.equal((await signIn(person.email, person.password, nat, device)).statusCode, 200);
    });

    it('F2: a flood from one address that the budgets refuse holds no slot: the owner signs in from another', async () => {
      const owner = await h().createUser();
      const flooder = '10.66.0.1';
      for (let i = 0; i < limits.perAccountAndAddress.free; i++) await signIn(owner.email, `guess-${i}-password`, flooder);
      // The flood keeps requests in flight all along, as the review's script did.
      let flooding = true;
      const flooded: number[] = [];
      const worker = async () => {
        while (flooding) flooded.push((await signIn(owner.email, 'flood-password-1', flooder)).statusCode);
      };
      const workers = Array.from({ length: 8 }, worker);
      const mine: number[] = [];
      try {
        for (let i = 0; i < 10; i++) mine.push((await signIn(owner.email, owner.password, `10.67.0.${i}`)).statusCode);
      } finally {
        flooding = false;
        await Promise.all(workers);
      }
      assert.deepEqual(mine, Array(10).fill(200), `the owner's sign-ins during the flood: ${mine}`);
      assert.ok(flooded.length > 0 && flooded.every((s) => s === 429), 'the flood is refused');
    });
  },
  { signInLimits: limits },
);
