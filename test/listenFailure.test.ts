/**
 * `keyward serve` on a port that is taken: it says why and exits 1, having stopped what it started
 * and closed the database (before, it stayed up serving nothing, holding its database connections,
 * PostgreSQL's LISTEN among them). A real server process, on both databases.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { databases, type TestDatabase } from './helpers/databases.js';
import { BIN, SERVER_LOGS } from './helpers/server.js';

for (const factory of databases()) {
  describe(`serve on a port that is taken [${factory.name}]`, () => {
    let db: TestDatabase;
    before(async () => {
      db = await factory.create();
    });
    after(async () => {
      await db?.drop();
    });

    it('says why, closes what it opened, flushes its log and exits 1', async () => {
      const taken = createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      const port = (taken.address() as AddressInfo).port;
      try {
        const proc = spawn(process.execPath, [BIN, 'serve'], {
          env: {
            ...process.env,
            KEYWARD_DATABASE_URL: db.url,
            KEYWARD_SECRET: 'listen-failure-secret-0123',
            KEYWARD_ADMIN_PASSWORD: 'keeper-password-1',
            KEYWARD_HOST: '127.0.0.1',
            KEYWARD_PORT: String(port),
            KEYWARD_LOG_LEVEL: 'info',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        // Kept for scripts/test.mjs's scan for leaked credentials, like every server's log.
        mkdirSync(SERVER_LOGS, { recursive: true });
        proc.stdout.pipe(createWriteStream(`${SERVER_LOGS}/server-${proc.pid}.log`));
        let stdout = '';
        let stderr = '';
        proc.stdout.on('data', (d) => (stdout += d));
        proc.stderr.on('data', (d) => (stderr += d));
        const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
        const code = await Promise.race([exited, sleep(15_000).then(() => 'still running')]);
        if (code === 'still running') proc.kill('SIGKILL');

        assert.equal(code, 1, `it exits 1 (stderr: ${stderr})`);
        assert.match(stderr, new RegExp(`keyward: could not listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
        assert.match(stdout, /"msg":"could not listen: stopping"/);
        assert.match(stdout, /"msg":"stopped"/, 'the services were stopped, the database closed and the log flushed');
      } finally {
        taken.close();
      }
    });
  });
}
