/**
 * SQLite's files hold password hashes and key hashes: the database, its -wal and -shm files, and
 * the directory Keyward makes for them are private to the server's user (0600 and 0700), as the
 * secret file is. SQLite-only by nature. The umask is set to the common 022 so that the test
 * shows what Keyward itself asks for, not what a strict umask would give anyway.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
      await services.users.createTenant({ name: 'modes', adminEmail: 'files@example.com', adminPassword: 'modes-password-1' });
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

  /** A database as an older Keyward left it: files 0644 (a -wal and -shm beside it, as after a crash), the directory 0755. */
  const leftReadable = async (file: string) => {
    mkdirSync(join(file, '..'), { recursive: true });
    const store = await Store.open(`sqlite:${file}`);
    await store.close();
    writeFileSync(`${file}-wal`, '');
    writeFileSync(`${file}-shm`, '');
    for (const path of [file, `${file}-wal`, `${file}-shm`]) chmodSync(path, 0o644);
    chmodSync(join(file, '..'), 0o755);
  };

  it('files an older Keyward left readable (0644) are made 0600 at open, the directory made for them 0700, and it says so', async () => {
    const file = join(dir, 'old', 'keyward.db');
    await leftReadable(file);
    const store = await Store.open(`sqlite:${file}`);
    try {
      const services = createServices(store, { secret: 'modes-test-secret-0123456789' });
      await services.users.createTenant({ name: 'old', adminEmail: 'old@example.com', adminPassword: 'modes-password-1' });
      for (const path of [file, `${file}-wal`, `${file}-shm`]) assert.equal(octal(mode(path)), '0600', path);
      assert.equal(octal(mode(join(dir, 'old'))), '0700');
      const notes = store.connection.notes;
      assert.equal(notes.length, 4, notes.join('\n'));
      for (const path of [file, `${file}-wal`, `${file}-shm`, join(dir, 'old')]) assert.ok(notes.some((n) => n.startsWith(`${path} was readable`)), path);
      assert.ok(notes.every((n) => !n.includes('\n')));
    } finally {
      await store.close();
    }
    const again = await Store.open(`sqlite:${file}`);
    assert.deepEqual(again.connection.notes, [], 'nothing to say the next time');
    await again.close();
  });

  it('a directory that holds other things is left as the operator set it; the database in it is still made private, and the -wal and -shm SQLite makes next', async () => {
    const shared = join(dir, 'shared');
    const file = join(shared, 'keys.db');
    await leftReadable(file);
    rmSync(`${file}-wal`);
    rmSync(`${file}-shm`);
    writeFileSync(join(shared, 'README'), 'not Keyward\'s');
    const store = await Store.open(`sqlite:${file}`);
    try {
      const services = createServices(store, { secret: 'modes-test-secret-0123456789' });
      await services.users.createTenant({ name: 'shared', adminEmail: 'shared@example.com', adminPassword: 'modes-password-1' });
      for (const path of [file, `${file}-wal`, `${file}-shm`]) assert.equal(octal(mode(path)), '0600', path);
      assert.equal(octal(mode(shared)), '0755');
      assert.equal(store.connection.notes.length, 1, store.connection.notes.join('\n'));
    } finally {
      await store.close();
    }
  });

  it('keyward serve on a ./data an older Keyward left readable: made private before it serves, with one log line per file', async () => {
    const cwd = join(dir, 'old-server');
    const data = join(cwd, 'data');
    await leftReadable(join(data, 'keyward.db'));
    writeFileSync(join(data, 'secret'), 'old-server-secret-0123456789abcdef\n', { mode: 0o600 });
    const server = await startServer({ cwd, env: { KEYWARD_DATABASE_URL: '', KEYWARD_SECRET: '', KEYWARD_ADMIN_PASSWORD: 'modes-password-1' } });
    try {
      assert.equal(octal(mode(data)), '0700');
      for (const name of ['keyward.db', 'keyward.db-wal', 'keyward.db-shm', 'secret']) assert.equal(octal(mode(join(data, name))), '0600', name);
      const lines = server
        .stdout()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
        .filter((l) => /was readable by other users/.test(l.msg));
      assert.equal(lines.length, 4, server.stdout());
      for (const l of lines) assert.equal(l.level, 40, 'a warning');
    } finally {
      assert.equal(await server.stop(), 0);
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
