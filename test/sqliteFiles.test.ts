/**
 * SQLite's files hold password hashes and key hashes: the database, its -wal and -shm files, and
 * the directory Keyward makes for them are private to the server's user (0600 and 0700), as the
 * secret file is. SQLite-only by nature. The umask is set to the common 022 so that the test
 * shows what Keyward itself asks for, not what a strict umask would give anyway.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createServices } from '../src/service/services.js';
import { Store } from '../src/store/store.js';
import { startServer } from './helpers/server.js';

const mode = (path: string) => statSync(path).mode & 0o777;
const octal = (m: number) => `0${m.toString(8)}`;

describe('SQLite files are created private', () => {
  let dir: string;
  let umask: number;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'keyward-modes-'));
    umask = process.umask(0o022);
  });
  after(() => {
    process.umask(umask);
    rmSync(dir, { recursive: true, force: true });
  });

  it('the database, -wal and -shm files 0600, and the directories made for them 0700', async () => {
    const file = join(dir, 'made', 'for', 'keyward.db');
    const store = await Store.open(`sqlite:${file}`);
    try {
      const services = createServices(store, { secret: 'modes-test-secret-0123456789' });
      await services.users.createTenant({ name: 'modes', adminEmail: 'modes@example.com', adminPassword: 'private-files-pw-1' });
      for (const path of [file, `${file}-wal`, `${file}-shm`]) {
        assert.ok(existsSync(path), `${path} exists while the database is open`);
        assert.equal(octal(mode(path)), '0600', path);
      }
      assert.equal(octal(mode(join(dir, 'made'))), '0700');
      assert.equal(octal(mode(join(dir, 'made', 'for'))), '0700');
    } finally {
      await store.close();
    }
  });

  it('keyward serve on a fresh ./data: the directory 0700, the database files and the secret 0600', async () => {
    const cwd = join(dir, 'server');
    mkdirSync(cwd);
    const server = await startServer({ cwd, env: { KEYWARD_DATABASE_URL: '', KEYWARD_SECRET: '', KEYWARD_ADMIN_PASSWORD: 'modes-password-1' } });
    try {
      const res = await fetch(`${server.url}/v1/auth/authenticate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ emailId: 'admin@keyward.local', password: 'modes-password-1' }),
      });
      assert.equal(res.status, 200);
      const data = join(cwd, 'data');
      assert.equal(octal(mode(data)), '0700');
      for (const name of ['keyward.db', 'keyward.db-wal', 'keyward.db-shm', 'secret']) assert.equal(octal(mode(join(data, name))), '0600', name);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });
});
