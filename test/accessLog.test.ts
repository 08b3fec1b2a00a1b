/**
 * Request ids and the access log, as a client and an operator see them: every answer carries its
 * own unguessable id, the same as its error body's ref and its one access line's reqId; and a
 * server process stopped with SIGTERM has written the access line of every request it answered,
 * though it buffers its log.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApp } from '../src/http/app.js';
import { loggerOptions } from '../src/http/logging.js';
import { databases } from './helpers/databases.js';
import { eachDatabase } from './helpers/harness.js';
import { http, startServer } from './helpers/server.js';

const REQUEST_ID = /^[0-9a-f]{32}$/;

eachDatabase('request ids and access lines', (h) => {
  let app: FastifyInstance;
  let url: string;
  const lines: string[] = [];

  before(async () => {
    const stream = new Writable({ write: (chunk, _enc, cb) => (lines.push(...String(chunk).split('\n').filter(Boolean)), cb()) });
    app = await buildApp({ services: h().services, logger: pino(loggerOptions('info'), stream) });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => app?.close());

  it('every answer has its own 32-hex-digit X-Request-Id, which is its error ref and the reqId of its one access line', async () => {
    const user = await h().createUser();
    const { apiKey } = await h().createKey(user);
    const answers = [];
    for (let i = 0; i < 50; i++) {
      answers.push(await fetch(`${url}/v1/users/info`, { headers: { ApiKey: apiKey } }));
      answers.push(await fetch(`${url}/v1/users/info`, { headers: { ApiKey: 'kw_wrong' } }));
      answers.push(await fetch(`${url}/v1/nothing-here?x="${i}"`));
    }
    const ids = answers.map((res) => res.headers.get('x-request-id') ?? '');
    for (const id of ids) assert.match(id, REQUEST_ID);
    assert.equal(new Set(ids).size, ids.length, 'no two answers share an id');
    for (const res of answers.filter((r) => r.status !== 200)) assert.equal((await res.json()).ref, res.headers.get('x-request-id'));

    const access = lines.map((l) => JSON.parse(l)).filter((r) => r.msg === 'request completed');
    for (const [i, res] of answers.entries()) {
      const mine = access.filter((r) => r.reqId === ids[i]);
      assert.equal(mine.length, 1, `one access line for ${ids[i]}`);
      const [line] = mine;
      assert.equal(line.level, 30);
      assert.equal(line.req.id, ids[i]);
      assert.equal(line.req.method, 'GET');
      assert.equal(line.req.remoteAddress, '127.0.0.1');
      assert.equal(line.res.statusCode, res.status);
      assert.equal(typeof line.responseTime, 'number');
      assert.ok(typeof line.pid === 'number' && typeof line.hostname === 'string');
    }
    assert.ok(!lines.join('\n').includes(apiKey), 'the key is never logged');
  });
});

describe('access lines at SIGTERM', () => {
  for (const db of databases()) {
    it(`a server process stopped with SIGTERM has written the access line of every request it answered [${db.name}]`, async () => {
      const database = await db.create();
      const server = await startServer({ env: { KEYWARD_DATABASE_URL: database.url, KEYWARD_SECRET: 'access-log-test-secret-0123', KEYWARD_ADMIN_PASSWORD: 'keeper-password-1' } });
      const ids: string[] = [];
      try {
        // Fewer than fill one write of the log, in a burst, right before the signal: buffered.
        await Promise.all(
          Array.from({ length: 10 }, async () => {
            for (let i = 0; i < 30; i++) {
              const res = await http(`${server.url}/healthz`);
              assert.equal(res.status, 200);
              ids.push(res.headers.get('x-request-id') ?? '');
            }
          }),
        );
      } finally {
        assert.equal(await server.stop('SIGTERM'), 0);
        await database.drop();
      }
      const logged = new Set(
        server
          .stdout()
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l))
          .filter((r) => r.msg === 'request completed')
          .map((r) => r.reqId),
      );
      assert.equal(ids.length, 300);
      assert.deepEqual(
        ids.filter((id) => !logged.has(id)),
        [],
        'every answered request has its access line',
      );
    });
  }
});
