/**
 * The server process under clients that hold connections: a trickled body or header, a silent
 * or idle connection, more connections than the cap, and SIGTERM while a slow client is still
 * connected. Timeouts are set small through the environment, as an operator would set them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertV1ErrorBody } from './helpers/palette.js';
import { type ServerProcess, startServer } from './helpers/server.js';

const GIVE_UP_MS = 6000;

interface Outcome {
  /** Whatever the server wrote back. */
  response: string;
  /** When the server closed the connection, counted from the connect; undefined if it never did. */
  closedAfterMs?: number;
}

/**
 * A raw client: connects, writes `head`, then one more byte of `trickle` every 100 ms (nothing
 * when it is empty), until the server closes the connection or GIVE_UP_MS passes.
 */
function slowClient(server: ServerProcess, head: string, trickle = ''): { socket: Socket; connected: Promise<void>; outcome: Promise<Outcome> } {
  const { hostname, port } = new URL(server.url);
  const socket = connect(Number(port), hostname);
  let response = '';
  let start = 0;
  let timer: NodeJS.Timeout | undefined;
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.on('connect', () => {
    start = Date.now();
    socket.write(head);
    let i = 0;
    if (trickle) timer = setInterval(() => socket.writable && socket.write(trickle[i++ % trickle.length]), 100);
  });
  socket.on('data', (d) => (response += d));
  socket.on('error', () => {});
  const outcome = new Promise<Outcome>((resolve) => {
    const giveUp = setTimeout(() => {
      clearInterval(timer);
      socket.destroy();
      resolve({ response });
    }, GIVE_UP_MS);
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({ response, closedAfterMs: Date.now() - start });
    });
  });
  return { socket, connected, outcome };
}

const POST_HEAD = 'POST /v1/auth/authenticate HTTP/1.1\r\nHost: keyward\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{';

/** A GET on a fresh connection: its status, or the error code when the connection was refused. */
function get(server: ServerProcess, path = '/healthz'): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(`${server.url}${path}`, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    req.end();
  });
}

/** A kept-alive connection that has made one request and now sits idle. */
async function idleConnection(server: ServerProcess): Promise<{ socket: Socket; closed: Promise<number> }> {
  const c = slowClient(server, 'GET /healthz HTTP/1.1\r\nHost: keyward\r\n\r\n');
  await c.connected;
  await new Promise<void>((resolve) => c.socket.once('data', () => resolve()));
  const since = Date.now();
  return { socket: c.socket, closed: c.outcome.then(() => Date.now() - since) };
}

function statusOf(response: string): number {
  return Number(response.match(/^HTTP\/1\.1 (\d{3})/)?.[1]);
}

function bodyOf(response: string): string {
  return response.slice(response.indexOf('\r\n\r\n') + 4);
}

describe('the server under clients that hold connections', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-hostile-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const base = { KEYWARD_DATABASE_URL: `sqlite:${join(dir, 'k.db')}`, KEYWARD_SECRET: 'hostile-load-secret-0123', KEYWARD_ADMIN_PASSWORD: 'keeper-password-1' };

  it('a trickled body, trickled headers and a silent connection are cut off at their timeouts with a 408 v1Error; an idle kept-alive connection is closed', async () => {
    const server = await startServer({
      env: { ...base, KEYWARD_REQUEST_TIMEOUT_MS: '1200', KEYWARD_HEADERS_TIMEOUT_MS: '500', KEYWARD_KEEP_ALIVE_TIMEOUT_MS: '500' },
    });
    try {
      const body = slowClient(server, POST_HEAD, ' ');
      const headers = slowClient(server, 'GET /healthz HTTP/1.1\r\nHost: keyward\r\n', 'X-Pad: a\r\n');
      const silent = slowClient(server, '');
      const idle = await idleConnection(server);
      const [b, h, s] = await Promise.all([body.outcome, headers.outcome, silent.outcome]);

      assert.ok(b.closedAfterMs !== undefined, 'the trickled body is cut off');
      assert.ok(b.closedAfterMs >= 1100 && b.closedAfterMs < 3500, `at the request timeout (after ${b.closedAfterMs} ms)`);
      assert.equal(statusOf(b.response), 408);
      assert.equal(assertV1ErrorBody(bodyOf(b.response)).code, 'BadRequest');

      assert.ok(h.closedAfterMs !== undefined, 'the trickled headers are cut off');
      assert.ok(h.closedAfterMs >= 450 && h.closedAfterMs < 2500, `at the headers timeout (after ${h.closedAfterMs} ms)`);
      assert.equal(statusOf(h.response), 408);
      assertV1ErrorBody(bodyOf(h.response));

      assert.ok(s.closedAfterMs !== undefined && s.closedAfterMs < 2500, 'a connection that sends nothing is closed');

      const idleFor = await idle.closed;
      assert.ok(idleFor >= 400 && idleFor < 3000, `an idle kept-alive connection is closed after the keep-alive timeout (after ${idleFor} ms)`);

      assert.equal(await get(server), 200, 'and the server serves others as before');
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  it('past the connection cap a new connection is refused at once; idle connections make room; slow ones hold their place only until the request timeout', async () => {
    const server = await startServer({ env: { ...base, KEYWARD_MAX_CONNECTIONS: '3', KEYWARD_REQUEST_TIMEOUT_MS: '1500', KEYWARD_HEADERS_TIMEOUT_MS: '1500' } });
    try {
      // Idle kept-alive connections filling the cap are closed to make room: the first new
      // connection is refused, the next one is served, long before the keep-alive timeout.
      const idle = await Promise.all([idleConnection(server), idleConnection(server), idleConnection(server)]);
      const refused = await get(server);
      assert.equal(typeof refused, 'string', `at the cap, a new connection is refused at once (got ${refused})`);
      const idleClosed = await Promise.all(idle.map((c) => c.closed));
      assert.ok(idleClosed.every((ms) => ms < 1000), 'the idle connections were closed to make room');
      assert.equal(await get(server), 200);

      // Five slow clients against a cap of three: three hold a place, two are refused at once.
      const started = Date.now();
      const slow = [];
      for (let i = 0; i < 5; i++) {
        const c = slowClient(server, POST_HEAD, ' ');
        await c.connected;
        slow.push(c);
        await sleep(20);
      }
      const normal: (number | string)[] = [];
      let served = 0;
      while (Date.now() - started < 4000) {
        const status = await get(server);
        normal.push(status);
        if (status === 200) {
          served = Date.now() - started;
          break;
        }
        await sleep(100);
      }
      assert.equal(typeof normal[0], 'string', `while slow clients hold every place, a normal client is refused at once, not left waiting (got ${normal[0]})`);
      assert.ok(served > 0, `a normal client is served once the slow ones are cut off (got ${normal.join(', ')})`);
      assert.ok(served < 1500 + 2500, `within the request timeout and a check interval (served after ${served} ms)`);

      const outcomes = await Promise.all(slow.map((c) => c.outcome));
      const answered = outcomes.filter((o) => statusOf(o.response) === 408);
      const turnedAway = outcomes.filter((o) => o.response === '');
      assert.equal(answered.length, 3, 'the three admitted slow clients got a 408');
      for (const o of answered) assertV1ErrorBody(bodyOf(o.response));
      assert.equal(turnedAway.length, 2, 'the two past the cap were refused');
      for (const o of turnedAway) assert.ok(o.closedAfterMs !== undefined && o.closedAfterMs < 500, 'at once');
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  it('SIGTERM: idle connections close, a request in flight finishes, a slow client gets a 503 v1Error at the deadline, and the process exits 0 within it', async () => {
    const server = await startServer({ env: { ...base, KEYWARD_SHUTDOWN_TIMEOUT_MS: '1500', KEYWARD_REQUEST_TIMEOUT_MS: '60000', KEYWARD_HEADERS_TIMEOUT_MS: '60000' } });
    const slow = slowClient(server, POST_HEAD, ' ');
    await slow.connected;
    const idle = await idleConnection(server);
    // A sign-in whose body is still on its way when the signal comes, and arrives before the deadline.
    const payload = JSON.stringify({ emailId: 'nobody@example.com', password: 'not-the-password' });
    const inFlight = slowClient(server, `POST /v1/auth/authenticate HTTP/1.1\r\nHost: keyward\r\nContent-Type: application/json\r\nContent-Length: ${payload.length}\r\n\r\n${payload.slice(0, 10)}`);
    await inFlight.connected;
    await sleep(200);

    const signalled = Date.now();
    const exited = server.stop('SIGTERM');
    await sleep(300);
    inFlight.socket.write(payload.slice(10));
    const code = await Promise.race([exited, sleep(GIVE_UP_MS).then(() => 'still running')]);
    const tookMs = Date.now() - signalled;
    if (code === 'still running') server.proc.kill('SIGKILL');

    assert.equal(code, 0, 'the process exits 0');
    assert.ok(tookMs < 1500 + 3000, `within the shutdown deadline (took ${tookMs} ms)`);
    assert.ok((await idle.closed) < 1000, 'the idle connection was closed at once');

    const finished = await inFlight.outcome;
    assert.equal(statusOf(finished.response), 401, 'the request in flight got its own answer');
    assert.equal(assertV1ErrorBody(bodyOf(finished.response)).code, 'Unauthorized');

    const cut = await slow.outcome;
    assert.equal(statusOf(cut.response), 503, 'the slow client was told the server is stopping');
    assert.equal(assertV1ErrorBody(bodyOf(cut.response)).code, 'ServiceUnavailable');

    const log = server.stdout();
    assert.match(log, /"connections":1,"msg":"shutdown deadline passed/, 'only the slow client was left at the deadline');
    assert.match(log, /"msg":"stopped"/, 'the database was closed and the log flushed');
  });
});
