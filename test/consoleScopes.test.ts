/**
 * Least privilege in the console (CONTRACT §6.1), in Debian's Chromium against a real server
 * process on each database: the key form's Scopes and Allowed addresses, the key tables, Tenant
 * Settings → Scopes and Route Rules, and service accounts in Users. Each step is checked on
 * screen and then through the API, with the key the console made, used over HTTP.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { browserSkipReason, launch, screenshot, logIn as signInOnPage } from './helpers/browser.js';
import { databases, type TestDatabase } from './helpers/databases.js';
import { http, type ServerProcess, startServer } from './helpers/server.js';

const ADMIN = { email: 'admin@keyward.local', password: 'keeper-password-1' };

for (const factory of databases()) {
  describe(`console scopes, allowed addresses and service accounts [${factory.name}]`, { skip: browserSkipReason() }, () => {
    let db: TestDatabase;
    let server: ServerProcess;
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;
    let adminToken: string;

    const api = (method: string, path: string, body?: unknown, headers: Record<string, string> = { Authorization: adminToken }) =>
      http(`${server.url}${path}`, { method, headers, body });
    const withKey = (apiKey: string) => ({ ApiKey: apiKey });
    /** A user of their own for each test, so that no test sees another's keys. */
    const createUser = async (local: string) => {
      const who = { email: `${local}@example.com`, password: "correct-horse-battery-9" };
      const res = await api('POST', '/v1/users', { spec: { emailId: who.email, firstName: local[0]!.toUpperCase() + local.slice(1), lastName: 'Tester', password: who.password } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return { ...who, uid: res.body.uid as string };
    };
    const keyNamed = async (name: string) => {
      const res = await api('GET', '/v1/apiKeys?limit=1000');
      assert.equal(res.status, 200);
      return res.body.items.find((k: any) => k.metadata.name === name) as any;
    };

    before(async () => {
      db = await factory.create();
      server = await startServer({ env: { KEYWARD_DATABASE_URL: db.url, KEYWARD_SECRET: 'console-scopes-secret-01234', KEYWARD_ADMIN_PASSWORD: ADMIN.password } });
      adminToken = (await http(`${server.url}/v1/auth/authenticate?setCookie=false`, { method: 'POST', body: { emailId: ADMIN.email, password: ADMIN.password } })).body.Authorization;
      browser = await launch();
    });
    after(async () => {
      await browser?.close();
      await server?.stop();
      await db?.drop();
    });
    beforeEach(async () => {
      await context?.close();
      context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      page = await context.newPage();
    });

    const logIn = (who: { email: string; password: string }) => signInOnPage(page, server.url, who);

    async function openMyApiKeys() {
      await page.getByRole('button', { name: 'User Menu' }).click();
      await page.getByRole('menuitem', { name: 'My API Keys' }).click();
      await page.getByRole('heading', { name: 'My API Keys' }).waitFor();
    }

    /** Tenant Admin → Tenant Settings → the given entry of the Tenant Settings Menu. */
    async function openTenantSettings(entry: string, heading = entry) {
      await page.getByRole('button', { name: 'Tenant Admin' }).click();
      await page.getByRole('navigation', { name: 'Main Menu' }).getByRole('link', { name: 'Tenant Settings' }).click();
      await page.getByRole('navigation', { name: 'Tenant Settings Menu' }).getByRole('link', { name: entry, exact: true }).click();
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
    }

    const row = (name: string): Locator => page.getByRole('row').filter({ has: page.getByRole('cell', { name, exact: true }) });

    /** The text of a row's cell under the given column header. */
    async function cell(name: string, column: string): Promise<string> {
      await row(name).waitFor();
      const headers = await page.getByRole('columnheader').allTextContents();
      const index = headers.findIndex((h) => h.trim().toLowerCase() === column.toLowerCase());
      assert.ok(index >= 0, `column ${column} exists (${headers.join(', ')})`);
      return (await row(name).getByRole('cell').nth(index).textContent())?.trim() ?? '';
    }

    /** Waits until the cell shows `expected`: a table is read again after a save, a moment after the dialog closes. */
    async function waitForCell(name: string, column: string, expected: string) {
      await row(name).getByRole('cell', { name: expected, exact: true }).waitFor();
      assert.equal(await cell(name, column), expected);
    }

    async function rowAction(name: string, action: string) {
      await page.getByRole('button', { name: `Actions for ${name}` }).click();
      await page.getByRole('menuitem', { name: action, exact: true }).click();
    }

    /** Add New API key → name → the caller's `fill` for the rest → Generate; returns the key shown once. */
    async function createInConsole(name: string, fill: (dialog: Locator) => Promise<void>): Promise<string> {
      await page.getByRole('button', { name: 'Add New API key' }).click();
      const dialog = page.getByRole('dialog', { name: 'Add New API key' });
      await dialog.getByLabel('API Key Name').fill(name);
      await fill(dialog);
      await dialog.getByRole('button', { name: 'Generate' }).click();
      const apiKey = await page.getByRole('textbox', { name: 'API Key', exact: true }).inputValue();
      assert.match(apiKey, /^kw_/);
      await page.getByRole('button', { name: 'Done' }).click();
      return apiKey;
    }

    const scopesGroup = (dialog: Locator) => dialog.getByRole('group', { name: 'Scopes' });

    it('a read-only key: made in My API Keys, shown as Read only, and over HTTP it reads but cannot revoke', async () => {
      const rita = await createUser('rita');
      await logIn(rita);
      await openMyApiKeys();
      const apiKey = await createInConsole('rita-dashboard', async (dialog) => {
        const scopes = scopesGroup(dialog);
        assert.equal(await scopes.getByRole('radio', { name: 'Full access' }).isChecked(), true, 'Full access is the default');
        await scopes.getByRole('radio', { name: 'Read only' }).check();
        await screenshot(page, `scopes-read-only-form-${factory.name}`);
      });
      assert.equal(await cell('rita-dashboard', 'Scopes'), 'Read only');
      assert.ok(!(await page.getByRole('columnheader').allTextContents()).includes('Allowed addresses'), 'no addresses column while no key has an allowlist');
      await screenshot(page, `scopes-read-only-table-${factory.name}`);

      const stored = await keyNamed('rita-dashboard');
      assert.deepEqual([...stored.spec.scopes].sort(), ['apiKeys:read', 'audits:read', 'users:read']);
      assert.equal((await api('GET', '/v1/apiKeys', undefined, withKey(apiKey))).status, 200, 'the key reads keys');
      const revoke = await api('PATCH', `/v1/apiKeys/${stored.metadata.uid}`, { isActive: false }, withKey(apiKey));
      assert.equal(revoke.status, 403, JSON.stringify(revoke.body));
      assert.equal(revoke.body.details?.missingScope, 'apiKeys:write');
      assert.equal((await keyNamed('rita-dashboard')).status.isActive, true, 'the refused revoke changed nothing');

      // Edit shows what the key holds; switching it to Full access widens it.
      await rowAction('rita-dashboard', 'Edit');
      const edit = page.getByRole('dialog', { name: 'Edit API key rita-dashboard' });
      assert.equal(await scopesGroup(edit).getByRole('radio', { name: 'Read only' }).isChecked(), true);
      await scopesGroup(edit).getByRole('radio', { name: 'Full access' }).check();
      await edit.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved API key rita-dashboard' }).waitFor();
      await waitForCell('rita-dashboard', 'Scopes', 'Full access');
      assert.deepEqual((await keyNamed('rita-dashboard')).spec.scopes, ['*']);
    });

    it('chosen scopes: a tenant scope added on the Scopes page is offered, ticked and kept', async () => {
      await logIn(ADMIN);
      await openTenantSettings('Scopes');
      // Keyward's own scopes are listed as built in, with no actions.
      assert.equal(await cell('apiKeys:read', 'Built-in'), 'Yes');
      assert.equal(await page.getByRole('button', { name: 'Delete scope apiKeys:read' }).count(), 0);

      await page.getByRole('button', { name: 'Add scope' }).click();
      const add = page.getByRole('dialog', { name: 'Add scope' });
      await add.getByLabel('Name').fill('orders read');
      await add.getByRole('button', { name: 'Add', exact: true }).click();
      await add.getByRole('alert').filter({ hasText: 'resource:action' }).waitFor();
      await add.getByLabel('Name').fill('orders:read');
      await add.getByLabel('Description').fill('Read the orders service.');
      await add.getByRole('button', { name: 'Add', exact: true }).click();
      await page.getByRole('status').filter({ hasText: 'Added scope orders:read' }).waitFor();
      assert.equal(await cell('orders:read', 'Description'), 'Read the orders service.');
      assert.equal(await cell('orders:read', 'Built-in'), 'No');
      await screenshot(page, `scopes-catalogue-${factory.name}`);
      const catalogue = await api('GET', '/v1/scopes');
      assert.deepEqual(
        catalogue.body.items.find((s: any) => s.name === 'orders:read'),
        { name: 'orders:read', description: 'Read the orders service.', builtIn: false },
      );

      // Edit the description.
      await page.getByRole('button', { name: 'Edit scope orders:read' }).click();
      const edit = page.getByRole('dialog', { name: 'Edit scope orders:read' });
      await edit.getByLabel('Description').fill('List and read orders.');
      await edit.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved scope orders:read' }).waitFor();
      await waitForCell('orders:read', 'Description', 'List and read orders.');

      // A key with chosen scopes, the tenant's among them.
      await page.getByRole('navigation', { name: 'Tenant Settings Menu' }).getByRole('link', { name: 'API Keys' }).click();
      await page.getByRole('heading', { name: 'API Keys', exact: true }).waitFor();
      const apiKey = await createInConsole('orders-reader', async (dialog) => {
        const scopes = scopesGroup(dialog);
        await scopes.getByRole('radio', { name: 'Choose scopes' }).check();
        const orders = scopes.getByRole('checkbox', { name: 'orders:read', exact: true });
        await orders.waitFor();
        // Each box is named by its scope and described by the catalogue's words.
        assert.equal(await orders.evaluate((el) => document.getElementById(el.getAttribute('aria-describedby')!)?.textContent), 'List and read orders.');
        await orders.check();
        await scopes.getByRole('checkbox', { name: 'apiKeys:read', exact: true }).check();
        await screenshot(page, `scopes-chosen-form-${factory.name}`);
      });
      const shown = await cell('orders-reader', 'Scopes');
      assert.deepEqual(shown.split(', ').sort(), ['apiKeys:read', 'orders:read']);
      const stored = await keyNamed('orders-reader');
      assert.deepEqual([...stored.spec.scopes].sort(), ['apiKeys:read', 'orders:read']);
      assert.equal((await api('GET', '/v1/apiKeys', undefined, withKey(apiKey))).status, 200);
      assert.equal((await api('GET', '/v1/users', undefined, withKey(apiKey))).status, 403, 'users:read was not chosen');

      // Edit shows the chosen list ticked; unticking one saves the narrower list.
      await rowAction('orders-reader', 'Edit');
      const editKey = page.getByRole('dialog', { name: 'Edit API key orders-reader' });
      assert.equal(await scopesGroup(editKey).getByRole('radio', { name: 'Choose scopes' }).isChecked(), true);
      const ordersBox = scopesGroup(editKey).getByRole('checkbox', { name: 'orders:read', exact: true });
      assert.equal(await ordersBox.isChecked(), true);
      assert.equal(await scopesGroup(editKey).getByRole('checkbox', { name: 'users:read', exact: true }).isChecked(), false);
      await scopesGroup(editKey).getByRole('checkbox', { name: 'apiKeys:read', exact: true }).uncheck();
      await editKey.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved API key orders-reader' }).waitFor();
      await waitForCell('orders-reader', 'Scopes', 'orders:read');
      assert.deepEqual((await keyNamed('orders-reader')).spec.scopes, ['orders:read']);
      assert.equal((await api('GET', '/v1/apiKeys', undefined, withKey(apiKey))).status, 403, 'the narrowed key no longer reads keys');
    });

    it('allowed addresses: an invalid CIDR is refused in words, a good list is saved, shown and enforced', async () => {
      const alan = await createUser('alan');
      await logIn(alan);
      await openMyApiKeys();
      await page.getByRole('button', { name: 'Add New API key' }).click();
      const dialog = page.getByRole('dialog', { name: 'Add New API key' });
      await dialog.getByLabel('API Key Name').fill('alan-local');
      const addresses = dialog.getByLabel('Allowed addresses');
      assert.match((await addresses.evaluate((el) => document.getElementById(el.getAttribute('aria-describedby')!)?.textContent)) ?? '', /per line.*Empty: any address/);
      await addresses.fill('10.1.2.3/8');
      await dialog.getByRole('button', { name: 'Generate' }).click();
      const refusal = dialog.getByRole('alert');
      await refusal.waitFor();
      assert.match((await refusal.textContent()) ?? '', /10\.0\.0\.0\/8/, 'the refusal names the network probably meant');
      await screenshot(page, `scopes-bad-cidr-${factory.name}`);
      assert.equal(await keyNamed('alan-local'), undefined, 'nothing was created');

      // The test talks to the server over loopback: IPv4 or IPv6, both are allowed.
      await addresses.fill('127.0.0.1\n\n  ::1  \n');
      await dialog.getByRole('button', { name: 'Generate' }).click();
      const apiKey = await page.getByRole('textbox', { name: 'API Key', exact: true }).inputValue();
      await page.getByRole('button', { name: 'Done' }).click();
      assert.equal(await cell('alan-local', 'Allowed addresses'), '127.0.0.1/32, ::1/128');
      assert.deepEqual((await keyNamed('alan-local')).spec.allowedCidrs, ['127.0.0.1/32', '::1/128']);
      assert.equal((await api('GET', '/v1/users/info', undefined, withKey(apiKey))).status, 200, 'the key works from an allowed address');

      // Edit shows the list; moving it elsewhere locks this address out.
      await rowAction('alan-local', 'Edit');
      const edit = page.getByRole('dialog', { name: 'Edit API key alan-local' });
      assert.equal(await edit.getByLabel('Allowed addresses').inputValue(), '127.0.0.1/32\n::1/128');
      await edit.getByLabel('Allowed addresses').fill('192.0.2.0/24');
      await edit.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved API key alan-local' }).waitFor();
      await waitForCell('alan-local', 'Allowed addresses', '192.0.2.0/24');
      const refused = await api('GET', '/v1/users/info', undefined, withKey(apiKey));
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
      assert.equal(refused.body.details?.reason, 'address_not_allowed');
      // A key with no list shows Any.
      await api('POST', '/v1/apiKeys', { metadata: { name: 'alan-anywhere' }, spec: { expiry: new Date(Date.now() + 86_400_000).toISOString(), userUid: alan.uid } });
      await page.reload();
      assert.equal(await cell('alan-anywhere', 'Allowed addresses'), 'Any');
    });

    it('deleting a scope a key holds shows the 409 in words; an unused one is deleted after confirmation', async () => {
      assert.equal((await api('PUT', '/v1/scopes/billing:write', { description: 'Change invoices.' })).status < 300, true);
      assert.equal((await api('PUT', '/v1/scopes/billing:export', { description: 'Export invoices.' })).status < 300, true);
      const me = (await api('GET', '/v1/users/info')).body.userUid;
      const held = await api('POST', '/v1/apiKeys', { metadata: { name: 'billing-bot' }, spec: { expiry: new Date(Date.now() + 86_400_000).toISOString(), userUid: me, scopes: ['billing:write'] } });
      assert.equal(held.status, 201, JSON.stringify(held.body));

      await logIn(ADMIN);
      await openTenantSettings('Scopes');
      await page.getByRole('button', { name: 'Delete scope billing:write' }).click();
      await page.getByRole('alertdialog', { name: 'Delete scope' }).getByRole('button', { name: 'Delete' }).click();
      const alert = page.getByRole('alert').filter({ hasText: 'Could not delete scope billing:write' });
      await alert.waitFor();
      await screenshot(page, `scopes-delete-in-use-${factory.name}`);
      const expected = await api('DELETE', '/v1/scopes/billing:write');
      assert.equal(expected.status, 409);
      assert.ok(((await alert.textContent()) ?? '').includes(expected.body.message), `the server's words are shown: ${expected.body.message}`);
      await row('billing:write').waitFor();

      await page.getByRole('button', { name: 'Delete scope billing:export' }).click();
      await page.getByRole('alertdialog', { name: 'Delete scope' }).getByRole('button', { name: 'Cancel' }).click();
      await row('billing:export').waitFor();
      await page.getByRole('button', { name: 'Delete scope billing:export' }).click();
      await page.getByRole('alertdialog', { name: 'Delete scope' }).getByRole('button', { name: 'Delete' }).click();
      await page.getByRole('status').filter({ hasText: 'Deleted scope billing:export' }).waitFor();
      await row('billing:export').waitFor({ state: 'detached' });
      const left = (await api('GET', '/v1/scopes')).body.items.map((s: any) => s.name);
      assert.ok(!left.includes('billing:export') && left.includes('billing:write'), left.join(', '));
    });

    it('Route Rules shows the rules set through the API, read-only', async () => {
      await logIn(ADMIN);
      await openTenantSettings('Route Rules');
      await page.getByRole('cell', { name: 'No rules: the default applies to every request.' }).waitFor();

      const rules = {
        mode: 'audit',
        default: 'deny',
        rules: [
          { methods: ['GET'], path: '/orders/**', require: 'orders:read' },
          { methods: ['POST', 'DELETE'], path: '/orders/*/items', require: 'orders:write AND (billing:write OR admin:*)' },
        ],
      };
      for (const name of ['orders:read', 'orders:write', 'billing:write', 'admin:all']) await api('PUT', `/v1/scopes/${name}`, { description: name });
      const put = await api('PUT', '/v1/authRoutes', rules);
      assert.ok(put.status < 300, JSON.stringify(put.body));
      await page.reload();
      await page.getByRole('heading', { name: 'Route Rules', exact: true }).waitFor();
      const table = page.getByRole('table', { name: 'Rules' });
      await table.getByRole('cell', { name: '/orders/**', exact: true }).waitFor();
      const rows = await table.getByRole('row').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent?.trim())));
      assert.deepEqual(rows, [
        ['#', 'Methods', 'Path', 'Require'],
        ['1', 'GET', '/orders/**', 'orders:read'],
        ['2', 'POST, DELETE', '/orders/*/items', 'orders:write AND (billing:write OR admin:*)'],
      ]);
      await page.getByText(/^Audit: /).waitFor();
      await page.getByText(/^Deny: /).waitFor();
      await page.getByText(/changed through PUT \/v1\/authRoutes/).waitFor();
      assert.equal(await page.getByRole('button', { name: /edit|delete|save/i }).count(), 0, 'nothing on the page changes the rules');
      await screenshot(page, `route-rules-${factory.name}`);
    });

    it('a service account: made in Users without a password, labelled, and given a key from the tenant key form', async () => {
      await logIn(ADMIN);
      await openTenantSettings('Users');
      await page.getByRole('button', { name: 'Add User' }).click();
      const add = page.getByRole('dialog', { name: 'Add User' });
      await add.getByLabel('Email').fill('build-bot@example.com');
      await add.getByLabel('First Name').fill('Build');
      await add.getByLabel('Last Name').fill('Bot');
      assert.equal(await add.getByLabel('Password').count(), 1);
      await add.getByRole('checkbox', { name: 'Service account' }).check();
      assert.equal(await add.getByLabel('Password').count(), 0, 'a service account has no password fields');
      await screenshot(page, `service-account-form-${factory.name}`);
      await add.getByRole('button', { name: 'Create' }).click();
      await page.getByRole('status').filter({ hasText: 'Created service account build-bot@example.com' }).waitFor();
      assert.equal(await cell('build-bot@example.com', 'Kind'), 'Service account');
      assert.equal(await cell(ADMIN.email, 'Kind'), 'Person');
      assert.equal(await page.getByRole('button', { name: 'Reset password for build-bot@example.com' }).count(), 0, 'no password to reset');
      await screenshot(page, `service-account-users-${factory.name}`);
      const bot = (await api('GET', '/v1/users?limit=1000')).body.items.find((u: any) => u.spec.emailId === 'build-bot@example.com');
      assert.equal(bot.spec.kind, 'service');

      // Tenant Settings → API Keys → Add New API key, for the service account.
      await page.getByRole('navigation', { name: 'Tenant Settings Menu' }).getByRole('link', { name: 'API Keys' }).click();
      await page.getByRole('heading', { name: 'API Keys', exact: true }).waitFor();
      const apiKey = await createInConsole('build-bot-ci', async (dialog) => {
        const owner = dialog.getByRole('combobox', { name: 'User Name' });
        await owner.fill('build');
        const option = page.locator(`[id="${await owner.getAttribute('aria-controls')}"]`).getByRole('option', { name: 'Build Bot (build-bot@example.com) · Service account', exact: true });
        await option.click();
        assert.equal(await owner.inputValue(), 'Build Bot (build-bot@example.com) · Service account');
        await scopesGroup(dialog).getByRole('radio', { name: 'Read only' }).check();
      });
      assert.equal(await cell('build-bot-ci', 'User Name'), 'Build Bot');
      assert.equal(await cell('build-bot-ci', 'Scopes'), 'Read only');
      const info = await api('GET', '/v1/users/info', undefined, withKey(apiKey));
      assert.equal(info.status, 200);
      assert.equal(info.body.userUid, bot.metadata.uid, "the key is the service account's");
    });

    it('fits a phone: the key form with its checklist, Scopes and Route Rules scroll no page sideways', async () => {
      const noSidewaysScroll = async (where: string) => {
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        assert.ok(overflow <= 0, `${where}: the page does not scroll sideways (${overflow}px)`);
      };
      await page.setViewportSize({ width: 390, height: 844 });
      await logIn(ADMIN);
      await openTenantSettings('API Keys');
      await page.getByRole('button', { name: 'Add New API key' }).click();
      const dialog = page.getByRole('dialog', { name: 'Add New API key' });
      await scopesGroup(dialog).getByRole('radio', { name: 'Choose scopes' }).check();
      await scopesGroup(dialog).getByRole('checkbox', { name: 'keys:verify', exact: true }).waitFor();
      await noSidewaysScroll('key form');
      await screenshot(page, `phone-key-form-scopes-${factory.name}`);
      await page.keyboard.press('Escape');
      for (const entry of ['Scopes', 'Route Rules']) {
        await page.getByRole('navigation', { name: 'Tenant Settings Menu' }).getByRole('link', { name: entry, exact: true }).click();
        await page.getByRole('heading', { name: entry, exact: true }).waitFor();
        await page.getByRole('table').waitFor();
        await noSidewaysScroll(entry);
      }
    });
  });
}
