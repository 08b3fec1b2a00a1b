/**
 * The server process under clients that hold connections: a trickled body or header, a silent
 * or idle connection, more connections than the caps (in all and per address), a client that
 * reads its answers slowly or pipelines requests without reading them, and SIGTERM while a slow
 * client is still connected. Timeouts are set small through the environment, as an operator
 * would set them. Other client addresses are other loopback addresses (127.0.0.2 and on).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertV1ErrorBody } from './helpers/palette.js';
import { type ServerProcess, startServer } from './helpers/server.js';
import { waitFor } from './helpers/timers.js';

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
function slowClient(server: ServerProcess, head: string, trickle = '', from?: string): { socket: Socket; connected: Promise<void>; outcome: Promise<Outcome> } {
  const { hostname, port } = new URL(server.url);
  const socket = connect({ port: Number(port), host: hostname, localAddress: from });
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
function get(server: ServerProcess, path = '/healthz', from?: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(`${server.url}${path}`, { agent: false, localAddress: from }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    req.end();
  });
}

/** A kept-alive connection that has made one request and now sits idle. */
async function idleConnection(server: ServerProcess, from?: string): Promise<{ socket: Socket; closed: Promise<number> }> {
  const c = slowClient(server, 'GET /healthz HTTP/1.1\r\nHost: keyward\r\n\r\n', '', from);
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

/** Whether `promise` is still pending after `ms`. */
function pending(promise: Promise<unknown>, ms = 200): Promise<boolean> {
  return Promise.race([promise.then(() => false), sleep(ms).then(() => true)]);
}

/** The statuses of the responses in `text`, in order (each carries a Content-Length). */
function statuses(text: string): number[] {
  const found: number[] = [];
  let at = 0;
  while (at < text.length) {
    const end = text.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const head = text.slice(at, end);
    found.push(statusOf(head));
    at = end + 4 + Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
  }
  return found;
}

/** The server process's resident memory, in MB. */
function rssMb(server: ServerProcess): number {
  try {
    return Number(readFileSync(`/proc/${server.proc.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/)?.[1]) / 1024;
  } catch {
    return 0; // it has exited
  }
}

/** The largest file of /docs (1.7 MB). */
const BIG = 'GET /docs/static/swagger-ui-bundle.js HTTP/1.1\r\nHost: keyward\r\n\r\n';

/**
 * A client that asks for far more than the kernel's buffers hold (eight copies of BIG, pipelined)
 * and reads it slowly: 16 KB at most every 200 ms, often enough that the connection is never
 * idle, too slowly to ever finish.
 */
function slowReader(server: ServerProcess): { socket: Socket; outcome: Promise<Outcome & { read: number }> } {
  const { hostname, port } = new URL(server.url);
  const socket = connect(Number(port), hostname, () => socket.write(BIG.repeat(8)));
  let read = 0;
  let head = '';
  const start = Date.now();
  const reading = setInterval(() => {
    const chunk: Buffer | null = socket.read();
    if (chunk === null) return;
    if (read === 0) head = chunk.subarray(0, 100).toString('latin1');
    read += chunk.length;
  }, 200);
  socket.on('error', () => {});
  const outcome = new Promise<Outcome & { read: number }>((resolve) => {
    const giveUp = setTimeout(() => {
      clearInterval(reading);
      socket.destroy();
      resolve({ response: head, read });
    }, GIVE_UP_MS);
    socket.on('close', () => {
      clearInterval(reading);
      clearTimeout(giveUp);
      resolve({ response: head, read, closedAfterMs: Date.now() - start });
    });
  });
  return { socket, outcome };
}

/**
 * `count` connections that write `payload` (pipelined requests) as fast as the server takes it and
 * never read an answer; each reconnects when the server closes it.
 */
function flood(server: ServerProcess, payload: string, count: number) {
  const { hostname, port } = new URL(server.url);
  const sockets = new Set<Socket>();
  let stopped = false;
  let opened = 0;
  const open = () => {
    if (stopped) return;
    opened++;
    const socket = connect(Number(port), hostname);
    sockets.add(socket);
    const pump = () => {
      while (!stopped && socket.writable && socket.write(payload));
    };
    socket.on('connect', pump);
    socket.on('drain', pump);
    socket.on('error', () => {});
    socket.on('close', () => {
      sockets.delete(socket);
      setTimeout(open, 10);
    });
  };
  for (let i = 0; i < count; i++) open();
  return {
    opened: () => opened,
    stop() {
      stopped = true;
      for (const socket of sockets) socket.destroy();
    },
  };
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

  it('at the connection cap a new connection is served: the one waiting longest for a request (idle, or still sending its headers), else the one stalled longest writing to a client that does not read, is closed to make room; requests under way hold their place until the request timeout', async () => {
    const server = await startServer({ env: { ...base, KEYWARD_MAX_CONNECTIONS: '3', KEYWARD_REQUEST_TIMEOUT_MS: '1500', KEYWARD_HEADERS_TIMEOUT_MS: '1500' } });
    try {
      // Idle kept-alive connections fill the cap: the oldest one makes room, long before the keep-alive timeout.
      const idle = [];
      for (let i = 0; i < 3; i++) idle.push(await idleConnection(server));
      assert.equal(await get(server), 200, 'at the cap, a new connection is served at once');
      assert.ok((await idle[0].closed) < 1000, 'the oldest idle connection was closed to make room');
      assert.ok((await pending(idle[1].closed)) && (await pending(idle[2].closed, 0)), 'and only that one');
      for (const c of idle) c.socket.destroy();
      await sleep(100);

      // Slowloris: connections trickling their headers fill the cap; the oldest one makes room.
      const loris = [];
      for (let i = 0; i < 3; i++) {
        const c = slowClient(server, 'GET /healthz HTTP/1.1\r\nHost: keyward\r\n', 'X-Pad: a\r\n');
        await c.connected;
        loris.push(c);
        await sleep(50);
      }
      await sleep(100);
      assert.equal(await get(server), 200, 'a normal client is served while slowloris connections fill the cap');
      const oldest = await Promise.race([loris[0].outcome, sleep(500).then(() => undefined)]);
      assert.ok(oldest?.closedAfterMs !== undefined && oldest.response === '', 'the oldest slowloris connection was closed, without an answer');
      assert.ok((await pending(loris[1].outcome)) && (await pending(loris[2].outcome, 0)), 'and only that one');
      for (const c of loris) c.socket.destroy();
      await sleep(100);

      // Slow readers fill the cap: once a response has been written for a second to a client
      // not taking it, it is stalled, and the one stalled longest makes room.
      const readers = [];
      for (let i = 0; i < 3; i++) {
        readers.push(slowReader(server));
        await sleep(100);
      }
      await sleep(2000);
      assert.equal(await get(server), 200, 'a normal client is served while slow readers fill the cap');
      const stalled = await Promise.race([readers[0].outcome, sleep(500).then(() => undefined)]);
      assert.ok(stalled?.closedAfterMs !== undefined && stalled.read > 0, 'the connection stalled longest was closed to make room');
      assert.ok(await pending(readers[1].outcome, 0), 'and only that one');
      for (const r of readers) r.socket.destroy();
      await sleep(100);

      // Requests under way (bodies still arriving) are not closed to make room: five slow
      // clients against a cap of three, three hold a place, two are refused at once.
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
      assert.equal(typeof normal[0], 'string', `while requests under way hold every place, a normal client is refused at once, not left waiting (got ${normal[0]})`);
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

  it('one client address holds at most KEYWARD_MAX_CONNECTIONS_PER_ADDRESS connections, making room among its own; other addresses and trusted proxies are not held back', async () => {
    const server = await startServer({
      env: { ...base, KEYWARD_MAX_CONNECTIONS_PER_ADDRESS: '2', KEYWARD_TRUST_PROXY: '127.0.0.3', KEYWARD_REQUEST_TIMEOUT_MS: '5000', KEYWARD_HEADERS_TIMEOUT_MS: '5000' },
    });
    const clients: Socket[] = [];
    try {
      // Two requests under way from 127.0.0.1 (bodies still arriving) hold its two places.
      const slow = [slowClient(server, POST_HEAD, ' '), slowClient(server, POST_HEAD, ' ')];
      clients.push(...slow.map((c) => c.socket));
      await Promise.all(slow.map((c) => c.connected));
      await sleep(100);
      const third = await get(server);
      assert.equal(typeof third, 'string', `a third connection from the same address is refused at once (got ${third})`);
      assert.equal(await get(server, '/healthz', '127.0.0.2'), 200, 'another address is served');
      for (const c of slow) assert.ok(await pending(c.outcome, 0), 'the requests under way go on');

      // An address's idle connections make room for its new ones: the oldest is closed.
      const idle = [await idleConnection(server, '127.0.0.4'), await idleConnection(server, '127.0.0.4')];
      clients.push(...idle.map((c) => c.socket));
      assert.equal(await get(server, '/healthz', '127.0.0.4'), 200, 'a new connection from an address at its limit is served');
      assert.ok((await idle[0].closed) < 1000, 'its oldest idle connection was closed to make room');
      assert.ok(await pending(idle[1].closed), 'and only that one');

      // Behind a trusted proxy every client's connection comes from the proxy: none counts against it.
      const proxied = Array.from({ length: 4 }, () => slowClient(server, POST_HEAD, ' ', '127.0.0.3'));
      clients.push(...proxied.map((c) => c.socket));
      await Promise.all(proxied.map((c) => c.connected));
      await sleep(100);
      assert.equal(await get(server, '/healthz', '127.0.0.3'), 200, 'a trusted proxy opens as many connections as it needs');
      for (const c of proxied) assert.ok(await pending(c.outcome, 0), 'and none of its requests under way was closed');
    } finally {
      for (const socket of clients) socket.destroy();
      assert.equal(await server.stop(), 0);
    }
  });

  it('a client reading its answers too slowly is cut off at the response deadline (KEYWARD_RESPONSE_TIMEOUT_MS)', async () => {
    const server = await startServer({ env: { ...base, KEYWARD_RESPONSE_TIMEOUT_MS: '2000' } });
    const readers = [slowReader(server), slowReader(server)];
    try {
      for (const r of readers) {
        const o = await r.outcome;
        assert.equal(statusOf(o.response), 200, 'the slow reader was being answered');
        assert.ok(o.closedAfterMs !== undefined, `a slow reader is cut off (read ${o.read} bytes)`);
        // The deadline runs from when a response is first seen being written, checked every 500 ms here.
        assert.ok(o.closedAfterMs >= 1900 && o.closedAfterMs < 2000 + 1000 + 500, `at the response deadline (after ${o.closedAfterMs} ms)`);
      }
      // The line may still be in the log's write buffer (written every 250 ms): wait for it.
      await waitFor(() => /"connectionsClosed":\{[^}]*"slowResponse":[12]/.test(server.stdout()), 'the log says why');
      assert.equal(await get(server), 200, 'and the server serves others as before');
    } finally {
      for (const r of readers) r.socket.destroy();
      assert.equal(await server.stop(), 0);
    }
  });

  it('a client pipelining requests without reading the answers gets a few worked on at a time: memory stays bounded, others are served, the server survives; a client within the bound gets every answer, in order', async () => {
    // A small heap: before, answers piling up in memory killed such a process within seconds.
    const server = await startServer({ env: { ...base, NODE_OPTIONS: '--max-old-space-size=128' } });
    const flooding = flood(server, 'GET /v1/openapi.json HTTP/1.1\r\nHost: keyward\r\n\r\n'.repeat(100), 4);
    try {
      const before = rssMb(server);
      let peak = before;
      const health: (number | string)[] = [];
      const running = () => server.proc.exitCode === null && server.proc.signalCode === null;
      const until = Date.now() + 3000;
      while (Date.now() < until && running()) {
        health.push(await get(server));
        peak = Math.max(peak, rssMb(server));
        await sleep(100);
      }
      flooding.stop();
      assert.ok(running(), `the server is still running (stderr: ${server.stderr().slice(-300)})`);
      assert.ok(health.length > 5 && health.every((s) => s === 200), `another client is served meanwhile (got ${health.join(', ')})`);
      assert.ok(peak - before < 100, `memory stays bounded (RSS ${before.toFixed(0)} MB, at most ${peak.toFixed(0)} MB under the flood)`);
      assert.ok(flooding.opened() > 4, 'the flooding connections were closed (and reconnected)');
      // The line may still be in the log's write buffer (written every 250 ms): wait for it.
      await waitFor(() => /"connectionsClosed":\{[^}]*"pipelining":[1-9]/.test(server.stdout()), 'the log says why');

      // Within the bound, pipelining is served: 72 requests in one write, answered in order.
      const mixed = ['GET /healthz HTTP/1.1\r\nHost: keyward\r\n\r\n', 'GET /v1/nothing HTTP/1.1\r\nHost: keyward\r\n\r\n'];
      const pipelined = slowClient(server, Array.from({ length: 72 }, (_, i) => mixed[i % 2]).join(''));
      // A client that sends 40 and reads nothing for a second loses nothing.
      const late = slowClient(server, mixed[0].repeat(40));
      late.socket.pause();
      await sleep(1000);
      late.socket.resume();
      await sleep(500);
      for (const c of [pipelined, late]) c.socket.end();
      const [all, later] = await Promise.all([pipelined.outcome, late.outcome]);
      assert.deepEqual(statuses(all.response), Array.from({ length: 72 }, (_, i) => [200, 404][i % 2]));
      assert.deepEqual(statuses(later.response), Array(40).fill(200));
      assert.equal(await server.stop(), 0);
    } finally {
      flooding.stop();
      await server.stop();
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
