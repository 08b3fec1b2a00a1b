/**
 * Least privilege in the console (CONTRACT §6.1), in Debian's Chromium against a real server
 * process on each database: the key form's Scopes and Allowed addresses, the key tables, Tenant
 * Settings → Scopes and Route Rules, and service accounts in Users. Each step is checked on
 * screen and then through the API, with the key the console made, used over HTTP.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Locator } from 'playwright-core';
import { browserSkipReason, CONSOLE_ADMIN as ADMIN, consoleSuite, screenshot } from './helpers/browser.js';
import { databases } from './helpers/databases.js';

for (const factory of databases()) {
  describe(`console scopes, allowed addresses and service accounts [${factory.name}]`, { skip: browserSkipReason() }, () => {
    const suite = consoleSuite({ secret: 'console-scopes-secret-01234', database: factory });
    const { api, logIn, openMyApiKeys, openTenantSettings, row, cell, waitForCell, rowAction } = suite;
    const withKey = (apiKey: string) => ({ ApiKey: apiKey });
    const createUser = (local: string) => suite.createUser(local, 'correct-horse-battery-9');
    const keyNamed = async (name: string) => {
      const res = await api('GET', '/v1/apiKeys?limit=1000');
      assert.equal(res.status, 200);
      return res.body.items.find((k: any) => k.metadata.name === name) as any;
    };

    /** Add New API key → name → the caller's `fill` for the rest → Generate; returns the key shown once. */
    async function createInConsole(name: string, fill: (dialog: Locator) => Promise<void>): Promise<string> {
      await suite.page.getByRole('button', { name: 'Add New API key' }).click();
      const dialog = suite.page.getByRole('dialog', { name: 'Add New API key' });
      await dialog.getByLabel('API Key Name').fill(name);
      await fill(dialog);
      await dialog.getByRole('button', { name: 'Generate' }).click();
      const apiKey = await suite.page.getByRole('textbox', { name: 'API Key', exact: true }).inputValue();
      assert.match(apiKey, /^kw_/);
      await suite.page.getByRole('button', { name: 'Done' }).click();
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
        await screenshot(suite.page, `scopes-read-only-form-${factory.name}`);
      });
      assert.equal(await cell('rita-dashboard', 'Scopes'), 'Read only');
      assert.ok(!(await suite.page.getByRole('columnheader').allTextContents()).includes('Allowed addresses'), 'no addresses column while no key has an allowlist');
      await screenshot(suite.page, `scopes-read-only-table-${factory.name}`);

      const stored = await keyNamed('rita-dashboard');
      assert.deepEqual([...stored.spec.scopes].sort(), ['apiKeys:read', 'audits:read', 'users:read']);
      assert.equal((await api('GET', '/v1/apiKeys', undefined, withKey(apiKey))).status, 200, 'the key reads keys');
      const revoke = await api('PATCH', `/v1/apiKeys/${stored.metadata.uid}`, { isActive: false }, withKey(apiKey));
      assert.equal(revoke.status, 403, JSON.stringify(revoke.body));
      assert.equal(revoke.body.details?.missingScope, 'apiKeys:write');
      assert.equal((await keyNamed('rita-dashboard')).status.isActive, true, 'the refused revoke changed nothing');

      // Edit shows what the key holds; switching it to Full access widens it.
      await rowAction('rita-dashboard', 'Edit');
      const edit = suite.page.getByRole('dialog', { name: 'Edit API key rita-dashboard' });
      assert.equal(await scopesGroup(edit).getByRole('radio', { name: 'Read only' }).isChecked(), true);
      await scopesGroup(edit).getByRole('radio', { name: 'Full access' }).check();
      await edit.getByRole('button', { name: 'Save' }).click();
      await suite.page.getByRole('status').filter({ hasText: 'Saved API key rita-dashboard' }).waitFor();
      await waitForCell('rita-dashboard', 'Scopes', 'Full access');
      assert.deepEqual((await keyNamed('rita-dashboard')).spec.scopes, ['*']);
    });

    it('chosen scopes: a tenant scope added on the Scopes page is offered, ticked and kept', async () => {
      await logIn(ADMIN);
      await openTenantSettings('Scopes');
      // Keyward's own scopes are listed as built in, with no actions.
      assert.equal(await cell('apiKeys:read', 'Built-in'), 'Yes');
      assert.equal(await suite.page.getByRole('button', { name: 'Delete scope apiKeys:read' }).count(), 0);

      await suite.page.getByRole('button', { name: 'Add scope' }).click();
      const add = suite.page.getByRole('dialog', { name: 'Add scope' });
      await add.getByLabel('Name').fill('orders read');
      await add.getByRole('button', { name: 'Add', exact: true }).click();
      await add.getByRole('alert').filter({ hasText: 'resource:action' }).waitFor();
      await add.getByLabel('Name').fill('orders:read');
      await add.getByLabel('Description').fill('Read the orders service.');
      await add.getByRole('button', { name: 'Add', exact: true }).click();
      await suite.page.getByRole('status').filter({ hasText: 'Added scope orders:read' }).waitFor();
      assert.equal(await cell('orders:read', 'Description'), 'Read the orders service.');
      assert.equal(await cell('orders:read', 'Built-in'), 'No');
      await screenshot(suite.page, `scopes-catalogue-${factory.name}`);
      const catalogue = await api('GET', '/v1/scopes');
      assert.deepEqual(
        catalogue.body.items.find((s: any) => s.name === 'orders:read'),
        { name: 'orders:read', description: 'Read the orders service.', builtIn: false },
      );

      // Edit the description.
      await suite.page.getByRole('button', { name: 'Edit scope orders:read' }).click();
      const edit = suite.page.getByRole('dialog', { name: 'Edit scope orders:read' });
      await edit.getByLabel('Description').fill('List and read orders.');
      await edit.getByRole('button', { name: 'Save' }).click();
      await suite.page.getByRole('status').filter({ hasText: 'Saved scope orders:read' }).waitFor();
      await waitForCell('orders:read', 'Description', 'List and read orders.');

      // A key with chosen scopes, the tenant's among them.
      await suite.page.getByRole('navigation', { name: 'Tenant Settings Menu' }).getByRole('link', { name: 'API Keys' }).click();
      await suite.page.getByRole('heading', { name: 'API Keys', exact: true }).waitFor();
      const apiKey = await createInConsole('orders-reader', async (dialog) => {
        const scopes = scopesGroup(dialog);
        await scopes.getByRole('radio', { name: 'Choose scopes' }).check();
        const orders = scopes.getByRole('checkbox', { name: 'orders:read', exact: true });
        await orders.waitFor();
        // Each box is named by its scope and described by the catalogue's words.
        assert.equal(await orders.evaluate((el) => document.getElementById(el.getAttribute('aria-describedby')!)?.textContent), 'List and read orders.');
        await orders.check();
        await scopes.getByRole('checkbox', { name: 'apiKeys:read', exact: true }).check();
        await screenshot(suite.page, `scopes-chosen-form-${factory.name}`);
      });
      const shown = await cell('orders-reader', 'Scopes');
      assert.deepEqual(shown.split(', ').sort(), ['apiKeys:read', 'orders:read']);
      const stored = await keyNamed('orders-reader');
      assert.deepEqual([...stored.spec.scopes].sort(), ['apiKeys:read', 'orders:read']);
      assert.equal((await api('GET', '/v1/apiKeys', undefined, withKey(apiKey))).status, 200);
      assert.equal((await api('GET', '/v1/users', undefined, withKey(apiKey))).status, 403, 'users:read was not chosen');

      // Edit shows the chosen list ticked; unticking one saves the narrower list.
      await rowAction('orders-reader', 'Edit');
      const editKey = suite.page.getByRole('dialog', { name: 'Edit API key orders-reader' });
      assert.equal(await scopesGroup(editKey).getByRole('radio', { name: 'Choose scopes' }).isChecked(), true);
      const ordersBox = scopesGroup(editKey).getByRole('checkbox', { name: 'orders:read', exact: true });
      assert.equal(await ordersBox.isChecked(), true);
      assert.equal(await scopesGroup(editKey).getByRole('checkbox', { name: 'users:read', exact: true }).isChecked(), false);
      await scopesGroup(editKey).getByRole('checkbox', { name: 'apiKeys:read', exact: true }).uncheck();
      await editKey.getByRole('button', { name: 'Save' }).click();
      await suite.page.getByRole('status').filter({ hasText: 'Saved API key orders-reader' }).waitFor();
      await waitForCell('orders-reader', 'Scopes', 'orders:read');
      assert.deepEqual((await keyNamed('orders-reader')).spec.scopes, ['orders:read']);
      assert.equal((await api('GET', '/v1/apiKeys', undefined, withKey(apiKey))).status, 403, 'the narrowed key no longer reads keys');
    });

    it('allowed addresses: an invalid CIDR is refused in words, a good list is saved, shown and enforced', async () => {
      const alan = await createUser('alan');
      await logIn(alan);
      await openMyApiKeys();
      await suite.page.getByRole('button', { name: 'Add New API key' }).click();
      const dialog = suite.page.getByRole('dialog', { name: 'Add New API key' });
      await dialog.getByLabel('API Key Name').fill('alan-local');
      const addresses = dialog.getByLabel('Allowed addresses');
      assert.match((await addresses.evaluate((el) => document.getElementById(el.getAttribute('aria-describedby')!)?.textContent)) ?? '', /per line.*Empty: any address/);
      await addresses.fill('10.1.2.3/8');
      await dialog.getByRole('button', { name: 'Generate' }).click();
      const refusal = dialog.getByRole('alert');
      await refusal.waitFor();
      assert.match((await refusal.textContent()) ?? '', /10\.0\.0\.0\/8/, 'the refusal names the network probably meant');
      await screenshot(suite.page, `scopes-bad-cidr-${factory.name}`);
      assert.equal(await keyNamed('alan-local'), undefined, 'nothing was created');

      // The test talks to the server over loopback: IPv4 or IPv6, both are allowed.
      await addresses.fill('127.0.0.1\n\n  ::1  \n');
      await dialog.getByRole('button', { name: 'Generate' }).click();
      const apiKey = await suite.page.getByRole('textbox', { name: 'API Key', exact: true }).inputValue();
      await suite.page.getByRole('button', { name: 'Done' }).click();
      assert.equal(await cell('alan-local', 'Allowed addresses'), '127.0.0.1/32, ::1/128');
      assert.deepEqual((await keyNamed('alan-local')).spec.allowedCidrs, ['127.0.0.1/32', '::1/128']);
      assert.equal((await api('GET', '/v1/users/info', undefined, withKey(apiKey))).status, 200, 'the key works from an allowed address');

      // Edit shows the list; moving it elsewhere locks this address out.
      await rowAction('alan-local', 'Edit');
      const edit = suite.page.getByRole('dialog', { name: 'Edit API key alan-local' });
      assert.equal(await edit.getByLabel('Allowed addresses').inputValue(), '127.0.0.1/32\n::1/128');
      await edit.getByLabel('Allowed addresses').fill('192.0.2.0/24');
      await edit.getByRole('button', { name: 'Save' }).click();
      await suite.page.getByRole('status').filter({ hasText: 'Saved API key alan-local' }).waitFor();
      await waitForCell('alan-local', 'Allowed addresses', '192.0.2.0/24');
      const refused = await api('GET', '/v1/users/info', undefined, withKey(apiKey));
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
      assert.equal(refused.body.details?.reason, 'address_not_allowed');
      // A key with no list shows Any.
      await api('POST', '/v1/apiKeys', { metadata: { name: 'alan-anywhere' }, spec: { expiry: new Date(Date.now() + 86_400_000).toISOString(), userUid: alan.uid } });
      await suite.page.reload();
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
      await suite.page.getByRole('button', { name: 'Delete scope billing:write' }).click();
      await suite.page.getByRole('alertdialog', { name: 'Delete scope' }).getByRole('button', { name: 'Delete' }).click();
      const alert = suite.page.getByRole('alert').filter({ hasText: 'Could not delete scope billing:write' });
      await alert.waitFor();
      await screenshot(suite.page, `scopes-delete-in-use-${factory.name}`);
      const expected = await api('DELETE', '/v1/scopes/billing:write');
      assert.equal(expected.status, 409);
      assert.ok(((await alert.textContent()) ?? '').includes(expected.body.message), `the server's words are shown: ${expected.body.message}`);
      await row('billing:write').waitFor();

      await suite.page.getByRole('button', { name: 'Delete scope billing:export' }).click();
      await suite.page.getByRole('alertdialog', { name: 'Delete scope' }).getByRole('button', { name: 'Cancel' }).click();
      await row('billing:export').waitFor();
      await suite.page.getByRole('button', { name: 'Delete scope billing:export' }).click();
      await suite.page.getByRole('alertdialog', { name: 'Delete scope' }).getByRole('button', { name: 'Delete' }).click();
      await suite.page.getByRole('status').filter({ hasText: 'Deleted scope billing:export' }).waitFor();
      await row('billing:export').waitFor({ state: 'detached' });
      const left = (await api('GET', '/v1/scopes')).body.items.map((s: any) => s.name);
      assert.ok(!left.includes('billing:export') && left.includes('billing:write'), left.join(', '));
    });

    it('Route Rules shows the rules set through the API, read-only', async () => {
      await logIn(ADMIN);
      await openTenantSettings('Route Rules');
      await suite.page.getByRole('cell', { name: 'No rules: the default applies to every request.' }).waitFor();

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
      await suite.page.reload();
      await suite.page.getByRole('heading', { name: 'Route Rules', exact: true }).waitFor();
      const table = suite.page.getByRole('table', { name: 'Rules' });
      await table.getByRole('cell', { name: '/orders/**', exact: true }).waitFor();
      const rows = await table.getByRole('row').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent?.trim())));
      assert.deepEqual(rows, [
        ['#', 'Methods', 'Path', 'Require'],
        ['1', 'GET', '/orders/**', 'orders:read'],
        ['2', 'POST, DELETE', '/orders/*/items', 'orders:write AND (billing:write OR admin:*)'],
      ]);
      await suite.page.getByText(/^Audit: /).waitFor();
      await suite.page.getByText(/^Deny: /).waitFor();
      await suite.page.getByText(/changed through PUT \/v1\/authRoutes/).waitFor();
      assert.equal(await suite.page.getByRole('button', { name: /edit|delete|save/i }).count(), 0, 'nothing on the page changes the rules');
      await screenshot(suite.page, `route-rules-${factory.name}`);
    });

    it('a service account: made in Users without a password, labelled, and given a key from the tenant key form', async () => {
      await logIn(ADMIN);
      await openTenantSettings('Users');
      await suite.page.getByRole('button', { name: 'Add User' }).click();
      const add = suite.page.getByRole('dialog', { name: 'Add User' });
      await add.getByLabel('Email').fill('build-bot@example.com');
      await add.getByLabel('First Name').fill('Build');
      await add.getByLabel('Last Name').fill('Bot');
      assert.equal(await add.getByLabel('Password').count(), 1);
      await add.getByRole('checkbox', { name: 'Service account' }).check();
      assert.equal(await add.getByLabel('Password').count(), 0, 'a service account has no password fields');
      await screenshot(suite.page, `service-account-form-${factory.name}`);
      await add.getByRole('button', { name: 'Create' }).click();
      await suite.page.getByRole('status').filter({ hasText: 'Created service account build-bot@example.com' }).waitFor();
      assert.equal(await cell('build-bot@example.com', 'Kind'), 'Service account');
      assert.equal(await cell(ADMIN.email, 'Kind'), 'Person');
      assert.equal(await suite.page.getByRole('button', { name: 'Reset password for build-bot@example.com' }).count(), 0, 'no password to reset');
      await screenshot(suite.page, `service-account-users-${factory.name}`);
      const bot = (await api('GET', '/v1/users?limit=1000')).body.items.find((u: any) => u.spec.emailId === 'build-bot@example.com');
      assert.equal(bot.spec.kind, 'service');

      // Tenant Settings → API Keys → Add New API key, for the service account.
      await suite.page.getByRole('navigation', { name: 'Tenant Settings Menu' }).getByRole('link', { name: 'API Keys' }).click();
      await suite.page.getByRole('heading', { name: 'API Keys', exact: true }).waitFor();
      const apiKey = await createInConsole('build-bot-ci', async (dialog) => {
        const owner = dialog.getByRole('combobox', { name: 'User Name' });
        await owner.fill('build');
        const option = suite.page.locator(`[id="${await owner.getAttribute('aria-controls')}"]`).getByRole('option', { name: 'Build Bot (build-bot@example.com) · Service account', exact: true });
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
        const overflow = await suite.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        assert.ok(overflow <= 0, `${where}: the page does not scroll sideways (${overflow}px)`);
      };
      await suite.page.setViewportSize({ width: 390, height: 844 });
      await logIn(ADMIN);
      await openTenantSettings('API Keys');
      await suite.page.getByRole('button', { name: 'Add New API key' }).click();
      const dialog = suite.page.getByRole('dialog', { name: 'Add New API key' });
      await scopesGroup(dialog).getByRole('radio', { name: 'Choose scopes' }).check();
      await scopesGroup(dialog).getByRole('checkbox', { name: 'keys:verify', exact: true }).waitFor();
      await noSidewaysScroll('key form');
      await screenshot(suite.page, `phone-key-form-scopes-${factory.name}`);
      await suite.page.keyboard.press('Escape');
      for (const entry of ['Scopes', 'Route Rules']) {
        await suite.page.getByRole('navigation', { name: 'Tenant Settings Menu' }).getByRole('link', { name: entry, exact: true }).click();
        await suite.page.getByRole('heading', { name: entry, exact: true }).waitFor();
        await suite.page.getByRole('table').waitFor();
        await noSidewaysScroll(entry);
      }
    });
  });
}
