/**
 * Requests that are not well-formed HTTP, sent as raw bytes to a real server process: Node's
 * parser refuses them before any route runs, and the answer is still a 4xx with Palette's
 * v1Error body, never a 5xx, and the server keeps serving.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { http, type ServerProcess, startServer } from './helpers/server.js';

const RUNS = Number(process.env.KEYWARD_FUZZ_RUNS ?? 120);

interface RawResponse {
  status: number;
  headers: string;
  body: string;
}

/** Writes `bytes`, half-closes, and reads whatever comes back until the server closes. */
function send(port: number, bytes: Buffer | string): Promise<RawResponse | null> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer in 5 s')));
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      if (text === '') return resolve(null);
      const m = text.match(/^HTTP\/1\.1 (\d{3})[^\r]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/);
      if (!m) return reject(new Error(`not an HTTP response: ${JSON.stringify(text.slice(0, 200))}`));
      resolve({ status: Number(m[1]), headers: m[2], body: m[3] });
    });
    socket.end(bytes);
  });
}

function assertV1Error(res: RawResponse | null, what: string) {
  assert.ok(res, `${what}: an answer`);
  assert.ok(res.status >= 400 && res.status < 500, `${what}: answered ${res.status}`);
  // A keep-alive answer may carry a chunked body; a parser refusal carries a plain one.
  const json = res.body.trim().startsWith('{') ? res.body.trim() : res.body.split('\r\n')[1];
  const body = JSON.parse(json);
  assert.equal(typeof body.code, 'string', what);
  assert.equal(typeof body.message, 'string', what);
  assert.equal(typeof body.ref, 'string', what);
  assert.ok(!/\.ts:\d+|node_modules/.test(res.body), `${what}: no stack trace`);
}

describe('malformed HTTP against a server process', () => {
  let server: ServerProcess;
  let dir: string;
  let port: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyward-raw-'));
    server = await startServer({ cwd: dir, env: { KEYWARD_DATABASE_URL: '', KEYWARD_ADMIN_PASSWORD: 'admin-password-1' } });
    port = Number(new URL(server.url).port);
  });

  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const cases: [string, string | Buffer, number][] = [
    ['a request line that is not HTTP', 'GARBAGE\r\n\r\n', 400],
    ['a space in a header name', 'GET /v1/users/info HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n', 400],
    ['a control character in a header value', 'GET /v1/users/info HTTP/1.1\r\nHost: x\r\nApiKey: kw_\x01\r\n\r\n', 400],
    ['headers past 16 KB', `GET /v1/users/info HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
    ['Content-Length beside Transfer-Encoding (request smuggling)', 'POST /v1/apiKeys HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
    ['two different Content-Lengths', 'POST /v1/apiKeys HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}', 400],
    ['a chunk size that is not hex', 'POST /v1/apiKeys HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n', 400],
    ['a bare LF inside a header line', 'GET /v1/users/info HTTP/1.1\r\nHost: x\r\nX-A: 1\nX-B: 2\r\n\r\n', 400],
    ['a non-ASCII byte in the request target', Buffer.concat([Buffer.from('GET /v1/apiKeys/'), Buffer.from([0xff, 0xfe]), Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n')]), 400],
  ];

  for (const [what, bytes, status] of cases) {
    it(`${what}: ${status} with a v1Error body`, async () => {
      const res = await send(port, bytes);
      assertV1Error(res, what);
      assert.equal(res!.status, status, what);
    });
  }

  it('mutated requests: every answer is a 4xx or 2xx, errors are v1Error, and the server keeps serving', async () => {
    const valid = 'POST /v1/apiKeys HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}';
    const mutation = fc.record({
      at: fc.nat({ max: valid.length }),
      drop: fc.nat({ max: 8 }),
      insert: fc.uint8Array({ maxLength: 12 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (mutations) => {
        let bytes = Buffer.from(valid, 'latin1');
        for (const { at, drop, insert } of mutations) {
          const i = Math.min(at, bytes.length);
          bytes = Buffer.concat([bytes.subarray(0, i), Buffer.from(insert), bytes.subarray(i + drop)]);
        }
        const res = await send(port, bytes);
        // A request cut short before its end gets no answer when the client hangs up: nothing to check.
        if (res === null) return;
        assert.ok(res.status < 500, `answered ${res.status} to ${JSON.stringify(bytes.toString('latin1'))}`);
        if (res.status >= 400) assertV1Error(res, JSON.stringify(bytes.toString('latin1')));
      }),
      { numRuns: RUNS },
    );
    assert.equal((await http(`${server.url}/healthz`)).status, 200);
  });
});
