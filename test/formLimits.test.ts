/**
 * The console's forms take their limits from src/domain/limits.ts, as the API does: a form must
 * not let a person type what the API refuses (nor refuse what it takes).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { limits } from '../src/domain/limits.js';
import { browserSkipReason, CONSOLE_ADMIN as ADMIN, launch, logIn, openMyApiKeys, openTenantSettings } from './helpers/browser.js';
import { type ServerProcess, startServer } from './helpers/server.js';

describe('console form limits', { skip: browserSkipReason() }, () => {
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyward-form-limits-'));
    server = await startServer({ cwd: dir, env: { KEYWARD_DATABASE_URL: '', KEYWARD_SECRET: 'form-limits-secret-0123456', KEYWARD_ADMIN_PASSWORD: ADMIN.password } });
    browser = await launch();
    page = await (await browser.newContext()).newPage();
    await logIn(page, server.url, ADMIN);
  });
  // Each test starts from a fresh page (the session cookie stays), whatever the last one left open.
  beforeEach(async () => {
    await page.goto(server.url);
    await page.getByRole('button', { name: 'User Menu' }).waitFor();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The limit attributes of a field, as the keywords of a limit name them. */
  async function attributes(field: Locator, limit: object) {
    const out: Record<string, number> = {};
    for (const keyword of Object.keys(limit)) out[keyword] = Number(await field.getAttribute(keyword.toLowerCase()));
    return out;
  }

  it('the API key form: name and description', async () => {
    await openMyApiKeys(page);
    await page.getByRole('button', { name: 'Add New API key' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add New API key' });
    assert.deepEqual(await attributes(dialog.getByLabel('API Key Name'), limits.apiKey.name), limits.apiKey.name);
    assert.deepEqual(await attributes(dialog.getByLabel('Description'), limits.apiKey.description), limits.apiKey.description);
  });

  it('the user form: email, names and the password policy', async () => {
    await openTenantSettings(page, 'Users');
    await page.getByRole('button', { name: 'Add User' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add User' });
    assert.deepEqual(await attributes(dialog.getByLabel('Email'), limits.user.email), limits.user.email);
    assert.deepEqual(await attributes(dialog.getByLabel('First Name'), limits.user.name), limits.user.name);
    assert.deepEqual(await attributes(dialog.getByLabel('Last Name'), limits.user.name), limits.user.name);
    assert.deepEqual(await attributes(dialog.getByLabel('Password'), limits.password), limits.password);
  });

  it('the scope form: name and description', async () => {
    await openTenantSettings(page, 'Scopes');
    await page.getByRole('button', { name: 'Add scope' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add scope' });
    assert.deepEqual(await attributes(dialog.getByLabel('Name'), limits.scope.name), limits.scope.name);
    assert.deepEqual(await attributes(dialog.getByLabel('Description'), limits.scope.description), limits.scope.description);
  });
});
