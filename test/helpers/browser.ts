/**
 * Debian's Chromium, driven by playwright-core. Required when CI=true; on a machine without it
 * the browser suites are skipped with a plain message.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

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
