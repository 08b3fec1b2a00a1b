/**
 * The console's password change (User Menu → Change password) and a tenant admin's reset
 * (Tenant Settings → Users → Reset password), in Debian's Chromium against a real server
 * process on each database: what the person sees, and what the API then accepts and refuses.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Locator } from 'playwright-core';
import { browserSkipReason, CONSOLE_ADMIN as ADMIN, consoleSuite, screenshot } from './helpers/browser.js';
import { databases } from './helpers/databases.js';
import { http } from './helpers/server.js';

const SUCCESS = 'Your password was changed. Your other sessions were signed out.';

for (const factory of databases()) {
  describe(`console password change and reset [${factory.name}]`, { skip: browserSkipReason() }, () => {
    const suite = consoleSuite({ secret: 'console-password-secret-0123', database: factory });
    const { api, createUser, logIn, openTenantSettings } = suite;
    const signIn = (email: string, password: string) => http(`${suite.server.url}/v1/auth/authenticate?setCookie=false`, { method: 'POST', body: { emailId: email, password } });
    const tokenStatus = async (token: string) => (await api('GET', '/v1/users/info', undefined, { Authorization: token })).status;
    const isFocused = (locator: Locator) => locator.evaluate((el) => el === document.activeElement);
    const focusInside = (role: string) => suite.page.evaluate((r) => (document.activeElement as HTMLElement | null)?.closest(`[role=${r}]`) !== null, role);
    const noSidewaysScroll = async () => {
      const overflow = await suite.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `the page does not scroll sideways (${overflow}px)`);
    };

    /** User Menu → Change password; returns the dialog, checked to have taken focus. */
    async function openChangePassword(): Promise<Locator> {
      await suite.page.getByRole('button', { name: 'User Menu' }).click();
      await suite.page.getByRole('menuitem', { name: 'Change password' }).click();
      const dialog = suite.page.getByRole('dialog', { name: 'Change password' });
      await dialog.waitFor();
      assert.ok(await isFocused(dialog.getByLabel('Current password')), 'focus moves to the first field');
      return dialog;
    }

    async function fillChange(dialog: Locator, current: string, next: string, confirmation = next) {
      await dialog.getByLabel('Current password').fill(current);
      await dialog.getByLabel('New password', { exact: true }).fill(next);
      await dialog.getByLabel('Confirm new password').fill(confirmation);
      await dialog.getByRole('button', { name: 'Change password' }).click();
    }

    it('a user changes their password: the old one and their other sessions stop, this browser stays signed in', async () => {
      const dana = await createUser('dana', 'first-password-01');
      const NEW = 'second-password-02';
      const otherToken = (await signIn(dana.email, dana.password)).body.Authorization as string;
      assert.equal(await tokenStatus(otherToken), 200, 'the token from another sign-in works before the change');

      await logIn(dana);
      await suite.page.getByRole('button', { name: 'User Menu' }).click();
      assert.deepEqual(await suite.page.getByRole('menuitem').allTextContents(), ['My API Keys', 'Change password', 'Log out']);
      await suite.page.keyboard.press('Escape');

      const dialog = await openChangePassword();
      assert.match((await dialog.textContent()) ?? '', /At least 12 characters/, 'the length rule is shown as a hint');
      const hinted = await dialog.getByLabel('New password', { exact: true }).evaluate((el) => document.getElementById(el.getAttribute('aria-describedby') ?? '')?.textContent);
      assert.match(hinted ?? '', /At least 12 characters/, 'the hint describes the New password field');
      await dialog.getByLabel('Current password').fill(dana.password);
      await dialog.getByLabel('New password', { exact: true }).fill(NEW);
      await dialog.getByLabel('Confirm new password').fill(NEW);
      await screenshot(suite.page, `password-change-dialog-${factory.name}`);
      await dialog.getByRole('button', { name: 'Change password' }).click();
      await suite.page.getByRole('status').filter({ hasText: SUCCESS }).waitFor();
      await dialog.waitFor({ state: 'detached' });
      assert.ok(await isFocused(suite.page.getByRole('button', { name: 'User Menu' })), 'focus returns to the User Menu');
      await screenshot(suite.page, `password-changed-${factory.name}`);

      assert.equal((await signIn(dana.email, dana.password)).status, 401, 'the old password is refused');
      assert.equal((await signIn(dana.email, NEW)).status, 200, 'the new password signs in');
      assert.equal(await tokenStatus(otherToken), 401, 'the session from the other sign-in has ended');

      // This browser's session goes on: a fresh page load, and a request with its cookie.
      await suite.page.reload();
      await suite.page.getByRole('heading', { name: 'My API Keys' }).waitFor();
      assert.equal(await suite.page.getByRole('button', { name: 'Log in' }).count(), 0);
      assert.equal(await suite.page.evaluate(async () => (await fetch('/v1/users/info')).status), 200);
    });

    it('the form says what is wrong: too short, the name part, a mismatched confirmation, a wrong current password', async () => {
      const fox = await createUser('fox', 'mulder-password-1');
      await logIn(fox);
      const patches: string[] = [];
      suite.page.on('request', (r) => {
        if (r.method() === 'PATCH') patches.push(r.url());
      });
      const dialog = await openChangePassword();

      await fillChange(dialog, fox.password, 'short-pw', 'short-pw');
      await dialog.getByRole('alert').filter({ hasText: 'The password must be at least 12 characters long.' }).waitFor();
      await screenshot(suite.page, `password-change-too-short-${factory.name}`);

      await fillChange(dialog, fox.password, 'fox-and-friends-1');
      await dialog.getByRole('alert').filter({ hasText: 'must not contain the name part of the email address' }).waitFor();
      assert.equal(patches.length, 2, 'the policy refusals came from the server');

      await fillChange(dialog, fox.password, 'long-enough-pass-1', 'long-enough-pass-2');
      await dialog.getByRole('alert').filter({ hasText: 'The new password and its confirmation do not match.' }).waitFor();
      assert.equal(patches.length, 2, 'a mismatch is caught before anything is sent');
      await screenshot(suite.page, `password-change-mismatch-${factory.name}`);

      await fillChange(dialog, 'not-my-password-1', 'long-enough-pass-1');
      await dialog.getByRole('alert').filter({ hasText: 'The email or current password is incorrect.' }).waitFor();
      assert.equal(patches.length, 3);
      // The 401 is this form's refusal, not a lost session: the person is still here, signed in.
      assert.equal(await suite.page.getByRole('button', { name: 'Log in' }).count(), 0);
      assert.ok(await dialog.isVisible());
      await screenshot(suite.page, `password-change-wrong-current-${factory.name}`);

      // Keyboard: Tab stays in the dialog, Escape closes it and focus goes back to the User Menu.
      for (let i = 0; i < 10; i++) await suite.page.keyboard.press('Tab');
      assert.ok(await focusInside('dialog'), 'Tab stays inside the dialog');
      await suite.page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });
      assert.ok(await isFocused(suite.page.getByRole('button', { name: 'User Menu' })), 'focus returns to the User Menu');

      assert.equal((await signIn(fox.email, fox.password)).status, 200, 'nothing was changed: the old password still signs in');
      assert.equal((await signIn(fox.email, 'long-enough-pass-1')).status, 401);
    });

    it("a change while the account's guessing budget is spent shows the server's wait in words", async () => {
      const gus = await createUser('gus', 'gumshoe-password-1');
      await logIn(gus);
      // Guesses from elsewhere do not reach this browser: it is a known device of the account
      // (its device cookie), with a budget of its own.
      for (let i = 0; i < 5; i++) assert.equal((await signIn(gus.email, `wrong-guess-${i}-xxxx`)).status, 401);
      // The device's own five free failures are used up in this browser.
      const statuses = await suite.page.evaluate(async (email) => {
        const out: number[] = [];
        for (let i = 0; i < 5; i++) {
          const res = await fetch('/v1/auth/authenticate?setCookie=false', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ emailId: email, password: `browser-guess-${i}-xx` }) });
          out.push(res.status);
        }
        return out;
      }, gus.email);
      assert.deepEqual(statuses, [401, 401, 401, 401, 401]);
      const dialog = await openChangePassword();
      await fillChange(dialog, gus.password, 'gumshoe-password-2');
      await dialog.getByRole('alert').filter({ hasText: /Too many failed sign-ins\. Try again in \d+ seconds\./ }).waitFor();
      assert.equal(await suite.page.getByRole('button', { name: 'Log in' }).count(), 0, 'still signed in');
    });

    it("an admin resets a user's password: the user's sessions end and the new password signs in", async () => {
      const walt = await createUser('walt', 'skinner-password-1');
      const NEW = 'assistant-director-2';
      const waltToken = (await signIn(walt.email, walt.password)).body.Authorization as string;
      assert.equal(await tokenStatus(waltToken), 200);

      await logIn(ADMIN);
      await openTenantSettings('Users');
      await suite.page.getByRole('cell', { name: walt.email, exact: true }).waitFor();
      assert.equal(await suite.page.getByRole('button', { name: `Reset password for ${ADMIN.email}` }).count(), 0, "no reset on the admin's own row: it would end this session");

      await suite.page.getByRole('button', { name: `Reset password for ${walt.email}` }).click();
      const dialog = suite.page.getByRole('dialog', { name: `Reset password for ${walt.email}` });
      await dialog.waitFor();
      assert.ok(await isFocused(dialog.getByLabel('Your password')), 'focus moves to the first field');
      const fill = async (next: string, confirmation = next, own = ADMIN.password) => {
        await dialog.getByLabel('Your password').fill(own);
        await dialog.getByLabel('New password', { exact: true }).fill(next);
        await dialog.getByLabel('Confirm new password').fill(confirmation);
        await dialog.getByRole('button', { name: 'Set password' }).click();
      };
      await fill('too-short');
      await dialog.getByRole('alert').filter({ hasText: 'The password must be at least 12 characters long.' }).waitFor();
      await fill(NEW, `${NEW}x`);
      await dialog.getByRole('alert').filter({ hasText: 'The new password and its confirmation do not match.' }).waitFor();
      // A stolen session alone cannot reset anyone: the admin's own password is asked for.
      await fill(NEW, NEW, 'not-the-admin-password');
      await dialog.getByRole('alert').filter({ hasText: 'Your password is incorrect' }).waitFor();
      assert.equal(await suite.page.getByRole('button', { name: 'Log in' }).count(), 0, 'a wrong own password is the form\'s refusal, not a lost session');
      assert.equal(await tokenStatus(waltToken), 200, 'refused resets end nothing');
      await fill(NEW);
      await screenshot(suite.page, `password-reset-dialog-${factory.name}`);
      await suite.page.getByRole('status').filter({ hasText: `Set a new password for ${walt.email}. Their sessions were ended` }).waitFor();
      await dialog.waitFor({ state: 'detached' });
      assert.ok(await isFocused(suite.page.getByRole('button', { name: `Reset password for ${walt.email}` })), 'focus returns to the button that opened it');
      await screenshot(suite.page, `password-reset-done-${factory.name}`);

      assert.equal(await tokenStatus(waltToken), 401, "the user's existing token has stopped");
      assert.equal((await signIn(walt.email, walt.password)).status, 401, 'the old password is refused');
      assert.equal((await signIn(walt.email, NEW)).status, 200, 'the new password signs in');
      await suite.page.reload();
      await suite.page.getByRole('heading', { name: 'Users' }).waitFor();
      assert.equal(await suite.page.getByRole('button', { name: 'Log in' }).count(), 0, "the admin's own session goes on");
    });

    it('the dialogs fit a phone: no sideways scroll at 390 px, and no layout shift', async () => {
      const pat = await createUser('pat', 'phone-password-01');
      await suite.page.setViewportSize({ width: 390, height: 844 });
      await suite.page.addInitScript(() => {
        (window as any).__shifts = [];
        new PerformanceObserver((list) => {
          for (const e of list.getEntries() as any[]) if (!e.hadRecentInput) (window as any).__shifts.push({ value: e.value, at: location.pathname });
        }).observe({ type: 'layout-shift', buffered: true });
      });
      await logIn(ADMIN);
      const change = await openChangePassword();
      await noSidewaysScroll();
      await fillChange(change, 'not-the-password-1', 'some-new-password-1');
      await change.getByRole('alert').waitFor();
      await noSidewaysScroll();
      await screenshot(suite.page, `phone-password-change-${factory.name}`);
      await suite.page.keyboard.press('Escape');

      await suite.page.goto(`${suite.server.url}/tenant/settings/users`);
      await suite.page.getByRole('button', { name: `Reset password for ${pat.email}` }).click();
      await suite.page.getByRole('dialog', { name: `Reset password for ${pat.email}` }).waitFor();
      await noSidewaysScroll();
      await screenshot(suite.page, `phone-password-reset-${factory.name}`);
      await suite.page.keyboard.press('Escape');
      await noSidewaysScroll();
      await screenshot(suite.page, `phone-users-${factory.name}`);

      await suite.page.waitForTimeout(300);
      const shifts: { value: number; at: string }[] = await suite.page.evaluate(() => (window as any).__shifts);
      const total = shifts.reduce((sum, s) => sum + s.value, 0);
      assert.ok(total < 0.01, `cumulative layout shift ${total.toFixed(4)}: ${JSON.stringify(shifts)}`);
    });
  });
}
