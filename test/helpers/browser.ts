/**
 * Debian's Chromium, driven by playwright-core. Required when CI=true; on a machine without it
 * the browser suites are skipped with a plain message.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach } from 'node:test';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import type { DatabaseFactory, TestDatabase } from './databases.js';
import { http, type ServerProcess, startServer } from './server.js';

export const CHROMIUM = process.env.KEYWARD_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = 'test-artifacts';

export function browserSkipReason(): string | false {
  if (existsSync(CHROMIUM)) return false;
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`Chromium is required in CI but ${CHROMIUM} is missing (apt-get install chromium)`);
  return `Chromium not found at ${CHROMIUM}: browser tests skipped (apt-get install chromium)`;
}

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // As root on a closed network: no sandbox, and none of Chromium's background connections.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });
}

/** Signs in on the console's sign-in page, as a person would, and waits for the User Menu. */
export async function logIn(page: Page, url: string, who: { email: string; password: string }): Promise<void> {
  await page.goto(url);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'User Menu' }).waitFor();
}

/** Opens the User Menu's My API Keys page ("Navigate to the User Menu, and select My API Keys."). */
export async function openMyApiKeys(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'User Menu' }).click();
  await page.getByRole('menuitem', { name: 'My API Keys' }).click();
  await page.getByRole('heading', { name: 'My API Keys' }).waitFor();
}

/** Tenant Admin → Tenant Settings → the given entry of the Tenant Settings Menu, and waits for its heading. */
export async function openTenantSettings(page: Page, entry: string, heading = entry): Promise<void> {
  await page.getByRole('button', { name: 'Tenant Admin' }).click();
  await page.getByRole('navigation', { name: 'Main Menu' }).getByRole('link', { name: 'Tenant Settings' }).click();
  await page.getByRole('navigation', { name: 'Tenant Settings Menu' }).getByRole('link', { name: entry, exact: true }).click();
  await page.getByRole('heading', { name: heading, exact: true }).waitFor();
}

type Who = { email: string; password: string };

/** What a console suite's tests use; the getters read the current test's page (a fresh one per test). */
export interface ConsoleSuite {
  readonly server: ServerProcess;
  /** The server's working directory: a fresh one, removed after the suite (its ./data holds the default SQLite file). */
  readonly dir: string;
  readonly context: BrowserContext;
  readonly page: Page;
  /** The first tenant's admin (`CONSOLE_ADMIN`), signed in over the API. */
  readonly adminToken: string;
  /** A request to the server, as the admin unless `headers` say otherwise. */
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): ReturnType<typeof http>;
  /** A user of their own (made by the admin), so that no test sees another's keys, sessions or guesses. */
  createUser(local: string, password: string): Promise<Who & { uid: string }>;
  logIn(who: Who): Promise<void>;
  openMyApiKeys(): Promise<void>;
  openTenantSettings(entry: string, heading?: string): Promise<void>;
  /** The table row holding a cell named `name`. */
  row(name: string): Locator;
  /** The text of a row's cell under the given column header. */
  cell(name: string, column: string): Promise<string>;
  /** Waits until the cell shows `expected`: a table is read again after a save, a moment after the dialog closes. */
  waitForCell(name: string, column: string, expected: string): Promise<void>;
  /** "Identify your API key in the table, and click on the three-dot Menu." then the item. */
  rowAction(name: string, action: string): Promise<void>;
}

export const CONSOLE_ADMIN: Who = { email: 'admin@keyward.local', password: 'keeper-password-1' };

/**
 * Sets up a console suite inside the calling `describe`: a real server process (on a fresh
 * database from `database`, or, without one, on the default SQLite file under its working
 * directory), the admin's token, Chromium, and a fresh browser context and page for each test.
 */
export function consoleSuite(opts: { secret: string; database?: DatabaseFactory }): ConsoleSuite {
  let db: TestDatabase | undefined;
  let dir: string;
  let server: ServerProcess;
  let browser: Browser;
  let context: BrowserContext | undefined;
  let page: Page;
  let adminToken: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyward-console-'));
    db = await opts.database?.create();
    server = await startServer({ cwd: dir, env: { KEYWARD_DATABASE_URL: db?.url ?? '', KEYWARD_SECRET: opts.secret, KEYWARD_ADMIN_PASSWORD: CONSOLE_ADMIN.password } });
    const signIn = await http(`${server.url}/v1/auth/authenticate?setCookie=false`, { method: 'POST', body: { emailId: CONSOLE_ADMIN.email, password: CONSOLE_ADMIN.password } });
    adminToken = signIn.body.Authorization;
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await context?.close();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
  });

  const api: ConsoleSuite['api'] = (method, path, body, headers = { Authorization: adminToken }) => http(`${server.url}${path}`, { method, headers, body });
  const row = (name: string): Locator => page.getByRole('row').filter({ has: page.getByRole('cell', { name, exact: true }) });
  const cell = async (name: string, column: string): Promise<string> => {
    await row(name).waitFor();
    const headers = await page.getByRole('columnheader').allTextContents();
    const index = headers.findIndex((h) => h.trim().toLowerCase() === column.toLowerCase());
    assert.ok(index >= 0, `column ${column} exists (${headers.join(', ')})`);
    return (await row(name).getByRole('cell').nth(index).textContent())?.trim() ?? '';
  };

  return {
    get server() {
      return server;
    },
    get dir() {
      return dir;
    },
    get context() {
      return context!;
    },
    get page() {
      return page;
    },
    get adminToken() {
      return adminToken;
    },
    api,
    async createUser(local, password) {
      const who = { email: `${local}@example.com`, password };
      const res = await api('POST', '/v1/users', { spec: { emailId: who.email, firstName: local[0]!.toUpperCase() + local.slice(1), lastName: 'Tester', password } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return { ...who, uid: res.body.uid as string };
    },
    logIn: (who) => logIn(page, server.url, who),
    openMyApiKeys: () => openMyApiKeys(page),
    openTenantSettings: (entry, heading) => openTenantSettings(page, entry, heading),
    row,
    cell,
    async waitForCell(name, column, expected) {
      await row(name).getByRole('cell', { name: expected, exact: true }).waitFor();
      assert.equal(await cell(name, column), expected);
    },
    async rowAction(name, action) {
      await page.getByRole('button', { name: `Actions for ${name}` }).click();
      await page.getByRole('menuitem', { name: action, exact: true }).click();
    },
  };
}
