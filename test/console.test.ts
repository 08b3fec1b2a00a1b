/**
 * The web console in a real browser (Debian's Chromium) against a real server process: every
 * numbered step of the seed for the User tab and the Tenant tab, each checked on screen and
 * through the API, and the rest of what a person does there.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { Locator, Request } from 'playwright-core';
import { browserSkipReason, CONSOLE_ADMIN as ADMIN, consoleSuite, screenshot } from './helpers/browser.js';
import { Store } from '../src/store/store.js';
import { insertUsers } from './helpers/bulk.js';
import { http, run } from './helpers/server.js';

const USER = { email: 'dana@example.com', password: 'scully-password-1' };

describe('web console', { skip: browserSkipReason() }, () => {
  // On the default SQLite file under the server's working directory (suite.dir), which two tests
  // reach themselves: `keyward tenant create` there, and the store opened on that file.
  const suite = consoleSuite({ secret: 'console-test-secret-0123456' });
  const { api, logIn, openMyApiKeys, openTenantSettings, row, cell, waitForCell, rowAction } = suite;
  let userUid: string;

  const keyStatus = async (apiKey: string) => (await api('GET', '/v1/users/info', undefined, { ApiKey: apiKey })).status;
  const createKeyFor = async (owner: string, name: string, expiry = new Date(Date.now() + 30 * 86_400_000).toISOString()) => {
    const res = await api('POST', '/v1/apiKeys', { metadata: { name, annotations: { description: `${name} description` } }, spec: { expiry, userUid: owner } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { apiKey: string; uid: string };
  };

  before(async () => {
    const created = await api('POST', '/v1/users', { spec: { emailId: USER.email, firstName: 'Dana', lastName: 'Scully', password: USER.password } });
    userUid = created.body.uid;
  });

  /** "Switch to the Tenant Admin scope" … "From the Tenant Settings Menu, select API Keys." */
  const openTenantApiKeys = () => openTenantSettings('API Keys');
  const waitForActive = (name: string, expected: 'Active' | 'Inactive') => waitForCell(name, 'Active', expected);

  /** Types into a user picker (a combobox) and chooses the option named `option` from what it finds. */
  async function pickUser(field: Locator, text: string, option: string) {
    await field.fill(text);
    const list = suite.page.locator(`[id="${await field.getAttribute('aria-controls')}"]`);
    await list.getByRole('option', { name: option, exact: true }).click();
    assert.equal(await field.inputValue(), option === 'All users' ? '' : option);
    assert.equal(await field.getAttribute('aria-expanded'), 'false');
  }

  it('User tab: revoke your key, validate Inactive, re-activate it, validate Active', async () => {
    const key = await createKeyFor(userUid, 'dana-ci');
    await logIn(USER);
    await openMyApiKeys();
    assert.equal(await cell('dana-ci', 'Active'), 'Active');
    await screenshot(suite.page, 'user-my-api-keys');

    await rowAction('dana-ci', 'Revoke');
    await suite.page.getByRole('status').filter({ hasText: 'Revoked API key dana-ci' }).waitFor();
    await waitForActive('dana-ci', 'Inactive');
    assert.equal(await keyStatus(key.apiKey), 401, 'the revoked key really fails');
    await screenshot(suite.page, 'user-revoked');

    // Validate as the seed says: log in again, open My API Keys, find the key, read Active.
    await suite.page.reload();
    await openMyApiKeys();
    await waitForActive('dana-ci', 'Inactive');

    await rowAction('dana-ci', 'Re-activate');
    await suite.page.getByRole('status').filter({ hasText: 'Re-activated API key dana-ci' }).waitFor();
    await waitForActive('dana-ci', 'Active');
    assert.equal(await keyStatus(key.apiKey), 200, 'the re-activated key works again');
    await suite.page.reload();
    await openMyApiKeys();
    await waitForActive('dana-ci', 'Active');
  });

  it("Tenant tab: a tenant admin revokes a user's key, validates Inactive, re-activates it, validates Active", async () => {
    const key = await createKeyFor(userUid, 'dana-deploy');
    await logIn(ADMIN);
    await openTenantApiKeys();
    assert.equal(await cell('dana-deploy', 'User Name'), 'Dana Scully');
    assert.equal(await cell('dana-deploy', 'Active'), 'Active');
    await screenshot(suite.page, 'tenant-api-keys');

    await rowAction('dana-deploy', 'Revoke');
    await waitForActive('dana-deploy', 'Inactive');
    assert.equal(await keyStatus(key.apiKey), 401);

    await suite.page.reload();
    await suite.page.getByRole('heading', { name: 'API Keys', exact: true }).waitFor();
    await waitForActive('dana-deploy', 'Inactive');
    await screenshot(suite.page, 'tenant-revoked');

    await rowAction('dana-deploy', 'Re-activate');
    await waitForActive('dana-deploy', 'Active');
    assert.equal(await keyStatus(key.apiKey), 200);
  });

  it('the admin lock: the owner is told only a tenant admin can re-activate, and the table stays Inactive', async () => {
    const key = await createKeyFor(userUid, 'dana-locked');
    assert.equal((await api('PATCH', `/v1/apiKeys/${key.uid}`, { isActive: false })).status, 204);
    await logIn(USER);
    await openMyApiKeys();
    await rowAction('dana-locked', 'Re-activate');
    await suite.page.getByRole('alert').filter({ hasText: 'only a tenant admin can re-activate it' }).waitFor();
    await waitForActive('dana-locked', 'Inactive');
    assert.equal(await keyStatus(key.apiKey), 401);
    await screenshot(suite.page, 'admin-lock-message');
  });

  it('an expired key is marked, and re-activating it explains that the expiry must be extended', async () => {
    // Far enough ahead for the revoke below to land on a slow machine; then wait until it has surely passed.
    const expiresAt = Date.now() + 3000;
    const key = await createKeyFor(userUid, 'dana-short', new Date(expiresAt).toISOString());
    await api('PATCH', `/v1/apiKeys/${key.uid}`, {}, { ApiKey: key.apiKey });
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now()) + 200));
    await logIn(USER);
    await openMyApiKeys();
    assert.match(await cell('dana-short', 'Expiration Date'), /Expired/);
    await rowAction('dana-short', 'Re-activate');
    await suite.page.getByRole('alert').filter({ hasText: /Extend its expiry date first/ }).waitFor();
    await waitForActive('dana-short', 'Inactive');
    await screenshot(suite.page, 'expired-message');

    // Extend the expiry with Edit, then re-activate: it works.
    await rowAction('dana-short', 'Edit');
    await suite.page.getByRole('dialog').getByLabel('Expiration Date').selectOption({ label: '7 days' });
    await suite.page.getByRole('button', { name: 'Save' }).click();
    await suite.page.getByRole('status').filter({ hasText: 'Saved API key dana-short' }).waitFor();
    await rowAction('dana-short', 'Re-activate');
    await waitForActive('dana-short', 'Active');
    assert.equal(await keyStatus(key.apiKey), 200);
  });

  it('creates a key (shown once, with Copy), edits it, and deletes it after confirmation', async () => {
    await suite.context.grantPermissions(['clipboard-read', 'clipboard-write']);
    await logIn(USER);
    await openMyApiKeys();
    await suite.page.getByRole('button', { name: 'Add New API key' }).click();
    const dialog = suite.page.getByRole('dialog', { name: 'Add New API key' });
    assert.equal(await dialog.getByLabel('User Name').count(), 0, 'no User Name field outside the tenant scope');
    await dialog.getByLabel('API Key Name').fill('from-browser');
    await dialog.getByLabel('Description').fill('made in the console');
    await dialog.getByLabel('Expiration Date').selectOption({ label: '60 days' });
    await screenshot(suite.page, 'create-form');
    await dialog.getByRole('button', { name: 'Generate' }).click();
    const shown = suite.page.getByRole('textbox', { name: 'API Key', exact: true });
    const apiKey = await shown.inputValue();
    assert.match(apiKey, /^kw_/);
    await suite.page.getByRole('button', { name: 'Copy' }).click();
    await suite.page.getByText('Copied to the clipboard.').waitFor();
    assert.equal(await suite.page.evaluate(() => navigator.clipboard.readText()), apiKey);
    await screenshot(suite.page, 'key-shown-once');
    await suite.page.getByRole('button', { name: 'Done' }).click();
    assert.equal(await keyStatus(apiKey), 200);
    assert.equal(await cell('from-browser', 'Description'), 'made in the console');
    assert.ok(!(await suite.page.content()).includes(apiKey), 'the key is not on the page once the dialog is closed');

    // The expiry is 60 days away.
    const expected = new Date(Date.now() + 60 * 86_400_000);
    const shownDate = await cell('from-browser', 'Expiration Date');
    assert.ok(Math.abs(Date.parse(shownDate) - expected.getTime()) < 2 * 86_400_000, shownDate);

    await rowAction('from-browser', 'Edit');
    const edit = suite.page.getByRole('dialog');
    await edit.getByLabel('API Key Name').fill('renamed-in-browser');
    await edit.getByLabel('Description').fill('new words');
    await edit.getByRole('button', { name: 'Save' }).click();
    await row('renamed-in-browser').waitFor();
    assert.equal(await cell('renamed-in-browser', 'Description'), 'new words');
    assert.equal(await keyStatus(apiKey), 200, 'editing keeps the key working');

    await rowAction('renamed-in-browser', 'Delete');
    const confirm = suite.page.getByRole('alertdialog', { name: 'Delete API key' });
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await row('renamed-in-browser').waitFor();
    await rowAction('renamed-in-browser', 'Delete');
    await suite.page.getByRole('alertdialog', { name: 'Delete API key' }).getByRole('button', { name: 'Delete' }).click();
    await suite.page.getByRole('status').filter({ hasText: 'Deleted API key renamed-in-browser' }).waitFor();
    await row('renamed-in-browser').waitFor({ state: 'detached' });
    assert.equal(await keyStatus(apiKey), 401);
  });

  it('a name already taken is refused in words, and a custom expiry date works', async () => {
    await createKeyFor(userUid, 'taken-name');
    await logIn(USER);
    await openMyApiKeys();
    await suite.page.getByRole('button', { name: 'Add New API key' }).click();
    const dialog = suite.page.getByRole('dialog', { name: 'Add New API key' });
    await dialog.getByLabel('API Key Name').fill('taken-name');
    await dialog.getByRole('button', { name: 'Generate' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'already has an API key named "taken-name"' }).waitFor();
    await dialog.getByLabel('API Key Name').fill('custom-date');
    await dialog.getByLabel('Expiration Date').selectOption({ label: 'Custom' });
    const target = new Date(Date.now() + 45 * 86_400_000);
    const ymd = `${target.getFullYear()}-${String(target.getMonth() + 1).padStart(2, '0')}-${String(target.getDate()).padStart(2, '0')}`;
    await dialog.getByLabel('Custom expiration date').fill(ymd);
    await dialog.getByRole('button', { name: 'Generate' }).click();
    await suite.page.getByRole('button', { name: 'Done' }).click();
    assert.equal(await cell('custom-date', 'Expiration Date'), ymd);
  });

  it('a tenant admin creates a key for another user, filters by user, manages users and reads the audit log', async () => {
    await logIn(ADMIN);
    await openTenantApiKeys();
    await suite.page.getByRole('button', { name: 'Add New API key' }).click();
    const dialog = suite.page.getByRole('dialog', { name: 'Add New API key' });
    await dialog.getByLabel('API Key Name').fill('made-for-dana');
    await pickUser(dialog.getByRole('combobox', { name: 'User Name' }), 'scully', `Dana Scully (${USER.email})`);
    await dialog.getByLabel('Expiration Date').selectOption({ label: '7 days' });
    await dialog.getByRole('button', { name: 'Generate' }).click();
    await suite.page.getByRole('button', { name: 'Done' }).click();
    assert.equal(await cell('made-for-dana', 'User Name'), 'Dana Scully');
    const dana = await api('GET', `/v1/apiKeys?userUid=${userUid}`);
    assert.ok(dana.body.items.some((k: any) => k.metadata.name === 'made-for-dana'));

    const showKeysOf = suite.page.getByRole('combobox', { name: 'Show keys of' });
    await pickUser(showKeysOf, 'tenant admin', `Tenant Admin (${ADMIN.email})`);
    await suite.page.waitForFunction(() => !document.body.textContent?.includes('made-for-dana'));
    await pickUser(showKeysOf, 'DANA@', `Dana Scully (${USER.email})`);
    await row('made-for-dana').waitFor();
    const everyone = suite.page.waitForResponse((r) => new URL(r.url()).pathname === '/v1/apiKeys' && !new URL(r.url()).searchParams.has('userUid'));
    await pickUser(showKeysOf, '', 'All users');
    await everyone;
    await row('made-for-dana').waitFor();

    // Users: create one, then delete them; their keys stop at once.
    await suite.page.getByRole('navigation', { name: 'Tenant Settings Menu' }).getByRole('link', { name: 'Users' }).click();
    await suite.page.getByRole('button', { name: 'Add User' }).click();
    const add = suite.page.getByRole('dialog', { name: 'Add User' });
    await add.getByLabel('Email').fill('temp@example.com');
    await add.getByLabel('First Name').fill('Temp');
    await add.getByLabel('Last Name').fill('Worker');
    await add.getByLabel('Password').fill('worker-password-1');
    await add.getByRole('button', { name: 'Create' }).click();
    await suite.page.getByRole('cell', { name: 'temp@example.com', exact: true }).waitFor();
    await screenshot(suite.page, 'tenant-users');
    const temp = (await api('GET', '/v1/users')).body.items.find((u: any) => u.spec.emailId === 'temp@example.com');
    const tempKey = await createKeyFor(temp.metadata.uid, 'temp-key');
    await suite.page.getByRole('button', { name: 'Delete user temp@example.com' }).click();
    await suite.page.getByRole('alertdialog').getByRole('button', { name: 'Delete' }).click();
    await suite.page.getByRole('status').filter({ hasText: 'Deleted user temp@example.com' }).waitFor();
    assert.equal(await keyStatus(tempKey.apiKey), 401);

    await suite.page.getByRole('navigation', { name: 'Tenant Settings Menu' }).getByRole('link', { name: 'Audit Logs' }).click();
    await suite.page.getByRole('cell', { name: 'Revoked API key' }).first().waitFor();
    await suite.page.getByRole('cell', { name: 'Re-activated API key' }).first().waitFor();
    await screenshot(suite.page, 'tenant-audit-logs');
  });

  it("a filter changed while an earlier answer is on its way shows only the new filter's keys", async () => {
    await createKeyFor(userUid, 'stale-danas');
    const me = (await api('GET', '/v1/users/info')).body.userUid;
    await createKeyFor(me, 'stale-admins');
    await logIn(ADMIN);
    await openTenantApiKeys();
    await row('stale-danas').waitFor();

    // Hold back the answer for Dana's keys until the filter has moved on to the admin's.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let sent!: (request: Request) => void;
    const danasRequest = new Promise<Request>((resolve) => (sent = resolve));
    await suite.page.route(
      (url) => url.pathname === '/v1/apiKeys' && url.searchParams.get('userUid') === userUid,
      async (route) => {
        sent(route.request());
        await held;
        // The page may have given up on the request meanwhile: then there is nothing to continue.
        await route.continue().catch(() => {});
      },
      { times: 1 },
    );
    const showKeysOf = suite.page.getByRole('combobox', { name: 'Show keys of' });
    await pickUser(showKeysOf, 'dana', `Dana Scully (${USER.email})`);
    const request = await danasRequest;
    // Done when the answer has reached the page, or the page has dropped the request.
    const over = Promise.race([
      suite.page.waitForEvent('requestfinished', { predicate: (r) => r === request }),
      suite.page.waitForEvent('requestfailed', { predicate: (r) => r === request }),
    ]);
    await pickUser(showKeysOf, 'admin', `Tenant Admin (${ADMIN.email})`);
    await row('stale-admins').waitFor();
    await row('stale-danas').waitFor({ state: 'detached' });

    release();
    await over;
    // Let the page act on whatever arrived, then look.
    await suite.page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 50))));
    assert.equal(await row('stale-danas').count(), 0, "Dana's late answer is not shown under the admin's filter");
    assert.equal(await row('stale-admins').count(), 1);
    await suite.page.unrouteAll({ behavior: 'ignoreErrors' });

    // The picker's own search: a late answer for earlier text never becomes the options.
    let releaseSearch!: () => void;
    const searchHeld = new Promise<void>((resolve) => (releaseSearch = resolve));
    let searched!: (request: Request) => void;
    const danaSearch = new Promise<Request>((resolve) => (searched = resolve));
    await suite.page.route(
      (url) => url.pathname === '/v1/users' && url.searchParams.get('search') === 'scully',
      async (route) => {
        searched(route.request());
        await searchHeld;
        await route.continue().catch(() => {});
      },
      { times: 1 },
    );
    await showKeysOf.fill('scully');
    const searchRequest = await danaSearch;
    const searchOver = Promise.race([
      suite.page.waitForEvent('requestfinished', { predicate: (r) => r === searchRequest }),
      suite.page.waitForEvent('requestfailed', { predicate: (r) => r === searchRequest }),
    ]);
    await showKeysOf.fill('tenant admin');
    const options = suite.page.locator(`[id="${await showKeysOf.getAttribute('aria-controls')}"]`).getByRole('option');
    await options.filter({ hasText: ADMIN.email }).waitFor();
    releaseSearch();
    await searchOver;
    await suite.page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 50))));
    assert.deepEqual(await options.allTextContents(), [`Tenant Admin (${ADMIN.email})`], "the options are the admin's, not Dana's late answer");
    await suite.page.unrouteAll({ behavior: 'ignoreErrors' });
  });

  it('scope switching: only tenant admins see the Tenant Admin scope', async () => {
    await logIn(USER);
    assert.equal(await suite.page.getByRole('button', { name: 'Tenant Admin' }).count(), 0);
    await suite.page.goto(`${suite.server.url}/tenant/settings/api-keys`);
    await suite.page.getByRole('alert').filter({ hasText: 'Only tenant admins' }).waitFor();
    await suite.context.clearCookies();
    await logIn(ADMIN);
    await suite.page.getByRole('button', { name: 'Tenant Admin' }).click();
    await suite.page.getByRole('navigation', { name: 'Main Menu' }).waitFor();
    assert.equal(await suite.page.getByRole('button', { name: 'Tenant Admin' }).getAttribute('aria-pressed'), 'true');
    await suite.page.getByRole('button', { name: 'Personal' }).click();
    await suite.page.getByRole('heading', { name: 'My API Keys' }).waitFor();
    assert.equal(await suite.page.getByRole('navigation', { name: 'Main Menu' }).count(), 0);
  });

  it('sign-in messages: a wrong password, a paused account, and log out', async () => {
    await suite.page.goto(suite.server.url);
    await suite.page.getByLabel('Email').fill(USER.email);
    await suite.page.getByLabel('Password').fill('not-the-password');
    await suite.page.getByRole('button', { name: 'Log in' }).click();
    await suite.page.getByRole('alert').filter({ hasText: 'The email or password is incorrect.' }).waitFor();
    await screenshot(suite.page, 'sign-in-wrong-password');

    const locked = { email: 'locked@example.com', password: 'victim-password-1' };
    await api('POST', '/v1/users', { spec: { emailId: locked.email, password: locked.password } });
    for (let i = 0; i < 10; i++) await http(`${suite.server.url}/v1/auth/authenticate`, { method: 'POST', body: { emailId: locked.email, password: 'wrong-password' } });
    await suite.page.getByLabel('Email').fill(locked.email);
    await suite.page.getByLabel('Password').fill(locked.password);
    await suite.page.getByRole('button', { name: 'Log in' }).click();
    await suite.page.getByRole('alert').filter({ hasText: /paused after too many failed attempts.*Try again in \d+ seconds/ }).waitFor();

    await logIn(USER);
    await suite.page.getByRole('button', { name: 'User Menu' }).click();
    await suite.page.getByRole('menuitem', { name: 'Log out' }).click();
    await suite.page.getByRole('button', { name: 'Log in' }).waitFor();
    await suite.page.getByText('You have signed out.').waitFor();
    await suite.page.goto(`${suite.server.url}/keys`);
    await suite.page.getByRole('button', { name: 'Log in' }).waitFor();
  });

  it('an expired session goes back to sign-in, then to where the person was', async () => {
    await logIn(ADMIN);
    await openTenantApiKeys();
    // The session ends as it does after 15 idle minutes: the cookie's Max-Age runs out and the
    // browser drops it.
    await suite.context.clearCookies();
    assert.equal((await suite.context.cookies()).length, 0);
    // Chromium can take a moment to stop sending a cleared cookie: wait until it has.
    await suite.page.waitForFunction(async () => (await fetch('/v1/users/info')).status === 401, undefined, { polling: 100 });
    await suite.page.getByRole('navigation', { name: 'Tenant Settings Menu' }).getByRole('link', { name: 'Users' }).click();
    await suite.page.getByText('Your session has expired').waitFor();
    await screenshot(suite.page, 'session-expired');
    await suite.page.getByLabel('Email').fill(ADMIN.email);
    await suite.page.getByLabel('Password').fill(ADMIN.password);
    await suite.page.getByRole('button', { name: 'Log in' }).click();
    await suite.page.getByRole('heading', { name: 'Users' }).waitFor();
    assert.equal(new URL(suite.page.url()).pathname, '/tenant/settings/users');
  });

  it('works from the keyboard: menus and dialogs take and return focus', async () => {
    await createKeyFor(userUid, 'keyboard-key');
    await logIn(USER);
    await openMyApiKeys();
    const actions = suite.page.getByRole('button', { name: 'Actions for keyboard-key' });
    await actions.focus();
    await suite.page.keyboard.press('Enter');
    await suite.page.getByRole('menuitem', { name: 'Edit' }).waitFor();
    assert.equal(await suite.page.evaluate(() => document.activeElement?.textContent), 'Edit', 'focus moves into the menu');
    await suite.page.keyboard.press('ArrowDown');
    assert.equal(await suite.page.evaluate(() => document.activeElement?.textContent), 'Revoke');
    await suite.page.keyboard.press('Escape');
    assert.equal(await suite.page.getByRole('menu').count(), 0);
    assert.equal(await suite.page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Actions for keyboard-key', 'focus returns to the button');

    await suite.page.getByRole('button', { name: 'Add New API key' }).focus();
    await suite.page.keyboard.press('Enter');
    assert.equal(await suite.page.evaluate(() => (document.activeElement as HTMLElement | null)?.closest('[role=dialog]') !== null), true, 'focus moves into the dialog');
    for (let i = 0; i < 12; i++) await suite.page.keyboard.press('Tab');
    assert.equal(await suite.page.evaluate(() => (document.activeElement as HTMLElement | null)?.closest('[role=dialog]') !== null), true, 'Tab stays inside the dialog');
    await suite.page.keyboard.press('Escape');
    assert.equal(await suite.page.getByRole('dialog').count(), 0);
    assert.equal(await suite.page.evaluate(() => document.activeElement?.textContent), 'Add New API key', 'focus returns to the opener');
  });

  it('reads well at phone width', async () => {
    await suite.page.setViewportSize({ width: 390, height: 844 });
    await logIn(ADMIN);
    await openTenantApiKeys();
    const overflow = await suite.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the page itself does not scroll sideways (${overflow}px)`);
    await screenshot(suite.page, 'phone-tenant-api-keys');
  });

  it('shows a long list a page at a time, newest first, and the rest on request', async () => {
    const who = { email: 'many-keys@example.com', password: 'keyring-password-1' };
    const owner = (await api('POST', '/v1/users', { spec: { emailId: who.email, firstName: 'Many', lastName: 'Keys', password: who.password } })).body.uid;
    for (let i = 0; i < 55; i++) await createKeyFor(owner, `many-${String(i).padStart(2, '0')}`);
    const firstRow = async () => (await suite.page.getByRole('row').nth(1).getByRole('cell').first().textContent())?.trim();
    await logIn(who);
    await row('many-05').waitFor();
    assert.equal(await suite.page.getByRole('row').count(), 51, 'a header row and the newest 50 keys');
    assert.equal(await firstRow(), 'many-54', 'newest first');
    assert.equal(await row('many-04').count(), 0, 'the oldest keys are past the first page');
    await suite.page.getByText('Showing 50 of 55 API keys.').waitFor();
    // A key made here is at the top of the first page, with nothing more to read.
    await suite.page.getByRole('button', { name: 'Add New API key' }).click();
    const dialog = suite.page.getByRole('dialog', { name: 'Add New API key' });
    await dialog.getByLabel('API Key Name').fill('many-new');
    await dialog.getByRole('button', { name: 'Generate' }).click();
    await suite.page.getByRole('button', { name: 'Done' }).click();
    await row('many-new').waitFor();
    assert.equal(await firstRow(), 'many-new', 'the new key comes first');
    await suite.page.getByText('Showing 50 of 56 API keys.').waitFor();
    await rowAction('many-new', 'Delete');
    await suite.page.getByRole('alertdialog').getByRole('button', { name: 'Delete' }).click();
    await suite.page.getByText('Deleted API key many-new.').waitFor();
    await row('many-new').waitFor({ state: 'detached' });
    // Back to the first page, as a new visit would show it.
    await suite.page.reload();
    await row('many-05').waitFor();
    await suite.page.getByText('Showing 50 of 55 API keys.').waitFor();
    await suite.page.getByRole('button', { name: 'Show more API keys' }).click();
    await row('many-00').waitFor();
    assert.equal(await suite.page.getByRole('row').count(), 56);
    assert.equal(await suite.page.getByRole('button', { name: 'Show more API keys' }).count(), 0, 'nothing more to show');
    // An action re-reads the table: every row shown stays shown.
    await rowAction('many-00', 'Revoke');
    await suite.page.getByText('Revoked API key many-00.', { exact: false }).waitFor();
    await waitForActive('many-00', 'Inactive');
    assert.equal(await suite.page.getByRole('row').count(), 56);
  });

  it('the users list and the audit log page the same way (in a tenant of its own)', async () => {
    const who = { email: 'admin@many-users.example', password: 'many-users-password-1' };
    const env = { KEYWARD_DATABASE_URL: '', KEYWARD_SECRET: 'console-test-secret-0123456' };
    const made = await run(['tenant', 'create', '--name', 'many-users', '--admin-email', who.email, '--admin-password', who.password], { cwd: suite.dir, env });
    assert.equal(made.code, 0, made.stderr);
    const token = (await http(`${suite.server.url}/v1/auth/authenticate?setCookie=false`, { method: 'POST', body: { emailId: who.email, password: who.password } })).body.Authorization;
    for (let i = 0; i < 54; i++) {
      const res = await api('POST', '/v1/users', { spec: { emailId: `member-${String(i).padStart(2, '0')}@many-users.example`, firstName: 'Member', lastName: String(i), password: 'member-password-1' } }, { Authorization: token });
      assert.equal(res.status, 201);
    }
    await logIn(who);
    await openTenantSettings('Users');
    await suite.page.getByText('Showing 50 of 55 users.').waitFor();
    assert.equal(await suite.page.getByRole('row').count(), 51, 'a header row and the newest 50 users');
    assert.equal((await suite.page.getByRole('row').nth(1).getByRole('cell').nth(1).textContent())?.trim(), 'member-53@many-users.example', 'newest first');
    assert.equal(await suite.page.getByRole('cell', { name: who.email, exact: true }).count(), 0, 'the first user, the admin, is past the first page');
    await suite.page.getByRole('button', { name: 'Show more users' }).click();
    await suite.page.getByRole('cell', { name: who.email, exact: true }).waitFor();
    assert.equal(await suite.page.getByRole('row').count(), 56);

    // 54 user creations and more: the audit log pages too, newest first.
    await suite.page.getByRole('navigation', { name: 'Tenant Settings Menu' }).getByRole('link', { name: 'Audit Logs' }).click();
    const showing = suite.page.getByText(/^Showing 50 of \d+ audit entries\.$/);
    await showing.waitFor();
    const total = Number((await showing.textContent())!.match(/of (\d+)/)![1]);
    assert.ok(total > 54, `${total} entries`);
    assert.equal(await suite.page.getByRole('row').count(), 51);
    await suite.page.getByRole('button', { name: 'Show more audit entries' }).click();
    await suite.page.getByRole('cell', { name: 'member-00@many-users.example', exact: true }).waitFor();
    assert.equal(await suite.page.getByRole('row').count(), Math.min(total, 100) + 1);
  });

  it('the user pickers find a user past the first 1,000, by typing, and a key is made for them (in a tenant of its own)', async () => {
    const who = { email: 'admin@picker.example', password: 'picker-password-1' };
    const env = { KEYWARD_DATABASE_URL: '', KEYWARD_SECRET: 'console-test-secret-0123456' };
    const made = await run(['tenant', 'create', '--name', 'picker', '--admin-email', who.email, '--admin-password', who.password], { cwd: suite.dir, env });
    assert.equal(made.code, 0, made.stderr);
    const token = (await http(`${suite.server.url}/v1/auth/authenticate?setCookie=false`, { method: 'POST', body: { emailId: who.email, password: who.password } })).body.Authorization;
    const as = { Authorization: token };
    const tenantUid = (await api('GET', '/v1/users/info', undefined, as)).body.tenantUid;
    // 1,050 users made before the one we look for and 1,050 after: past the first 1,000 either way.
    const needle = { emailId: 'needle.person@picker.example', firstName: 'Needle', lastName: 'Haystack' };
    const store = await Store.open(`sqlite:${join(suite.dir, 'data', 'keyward.db')}`);
    try {
      await insertUsers(store, { tenantUid, count: 1050, createdAt: Date.now() - 60_000, prefix: 'picker-a' });
      const res = await api('POST', '/v1/users', { spec: needle }, as);
      assert.equal(res.status, 201);
      await insertUsers(store, { tenantUid, count: 1050, createdAt: Date.now() + 60_000, prefix: 'picker-b' });
    } finally {
      await store.close();
    }
    const needleUid = (await api('GET', `/v1/users?search=${needle.emailId}`, undefined, as)).body.items[0].metadata.uid;
    for (const order of ['', '&orderBy=metadata.creationTimestamp=-1']) {
      const firstThousand = (await api('GET', `/v1/users?limit=1000${order}`, undefined, as)).body.items.map((u: any) => u.metadata.uid);
      assert.ok(!firstThousand.includes(needleUid), 'a list of the first 1,000 users would not hold them');
    }
    const label = `Needle Haystack (${needle.emailId})`;

    await logIn(who);
    await openTenantApiKeys();
    await suite.page.getByRole('button', { name: 'Add New API key' }).click();
    const dialog = suite.page.getByRole('dialog', { name: 'Add New API key' });
    await dialog.getByLabel('API Key Name').fill('for-the-needle');
    const owner = dialog.getByRole('combobox', { name: 'User Name' });
    assert.equal(await owner.inputValue(), `Tenant Admin (${who.email})`, 'yourself, until you choose another');
    // Many match: the list says how many, and that typing more narrows them.
    await owner.fill('picker-a');
    await dialog.getByText('Showing 20 of 1050 users: type more of a name or email to narrow them.').waitFor();
    await screenshot(suite.page, 'user-picker-open');
    assert.equal(await dialog.getByRole('listbox', { name: 'User Name' }).getByRole('option').count(), 20);
    await owner.fill('zzz-nobody');
    await dialog.getByText('No user matches "zzz-nobody".').waitFor();
    assert.equal(await dialog.getByRole('listbox', { name: 'User Name' }).getByRole('option').count(), 0);
    await pickUser(owner, 'HAYST', label);
    await dialog.getByLabel('Expiration Date').selectOption({ label: '7 days' });
    await screenshot(suite.page, 'user-picker-chosen');
    await dialog.getByRole('button', { name: 'Generate' }).click();
    await suite.page.getByRole('button', { name: 'Done' }).click();
    await row('for-the-needle').waitFor();
    assert.equal(await cell('for-the-needle', 'User Name'), 'Needle Haystack');
    const theirs = (await api('GET', `/v1/apiKeys?userUid=${needleUid}`, undefined, as)).body.items;
    assert.deepEqual(theirs.map((k: any) => k.metadata.name), ['for-the-needle'], 'the key belongs to the user chosen');

    // The filter, from the keyboard: type, arrow down to the option, Enter.
    const showKeysOf = suite.page.getByRole('combobox', { name: 'Show keys of' });
    await showKeysOf.fill('needle.per');
    const option = suite.page.getByRole('option', { name: label, exact: true });
    await option.waitFor();
    await showKeysOf.press('ArrowDown');
    assert.equal(await showKeysOf.getAttribute('aria-activedescendant'), await option.getAttribute('id'));
    const filtered = suite.page.waitForResponse((r) => new URL(r.url()).searchParams.get('userUid') === needleUid);
    await showKeysOf.press('Enter');
    assert.equal(await showKeysOf.inputValue(), label);
    await filtered;
    await row('for-the-needle').waitFor();
    assert.equal(await suite.page.getByRole('row').count(), 2, 'a header row and their one key');
    // Escape closes the list and keeps the choice; the dialog-less page stays as it was.
    await showKeysOf.fill('picker-b');
    await suite.page.getByRole('option').first().waitFor();
    await showKeysOf.press('Escape');
    assert.equal(await showKeysOf.getAttribute('aria-expanded'), 'false');
    assert.equal(await showKeysOf.inputValue(), label);
  });

  it('does not jump: no layout shift from sign-in through loading both key tables', async () => {
    await createKeyFor(userUid, 'steady-1');
    await createKeyFor(userUid, 'steady-2');
    // Chromium's Layout Instability API: every shift not caused by the person's own input.
    await suite.page.addInitScript(() => {
      (window as any).__shifts = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries() as any[]) if (!e.hadRecentInput) (window as any).__shifts.push({ value: e.value, at: location.pathname, sources: (e.sources ?? []).map((s: any) => [s.node?.nodeName, JSON.stringify(s.previousRect), JSON.stringify(s.currentRect)]) });
      }).observe({ type: 'layout-shift', buffered: true });
    });
    await logIn(ADMIN);
    await openTenantApiKeys();
    await suite.page.getByRole('button', { name: /^Actions for / }).first().waitFor();
    await suite.page.getByRole('button', { name: 'User Menu' }).click();
    await suite.page.getByRole('menuitem', { name: 'My API Keys' }).click();
    await suite.page.getByRole('heading', { name: 'My API Keys' }).waitFor();
    await suite.page.waitForTimeout(300);
    const shifts: { value: number; sources: string[] }[] = await suite.page.evaluate(() => (window as any).__shifts);
    const total = shifts.reduce((sum, s) => sum + s.value, 0);
    assert.ok(total < 0.01, `cumulative layout shift ${total.toFixed(4)}: ${JSON.stringify(shifts)}`);
  });

  it('refuses cookie-authenticated writes without the CSRF token', async () => {
    await logIn(USER);
    const result = await suite.page.evaluate(async () => {
      const res = await fetch('/v1/apiKeys', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ metadata: { name: 'csrf' }, spec: { expiry: new Date(Date.now() + 86_400_000).toISOString() } }),
      });
      return { status: res.status, body: await res.json() };
    });
    assert.equal(result.status, 403);
    assert.match(result.body.message, /CSRF/);
  });
});
