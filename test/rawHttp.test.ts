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
import { CSRF_COOKIE, SESSION_COOKIE } from '../src/http/session.js';
import { assertV1ErrorBody } from './helpers/palette.js';
import { http, type ServerProcess, startServer } from './helpers/server.js';

const RUNS = Number(process.env.KEYWARD_FUZZ_RUNS ?? 120);

interface RawResponse {
  status: number;
  headers: string;
  body: string;
}

/**
 * Every response in `text`: a mutated request can read as two (say, a body shorter than the
 * rest of the bytes, which then arrive as a request of their own), each answered in turn.
 */
function parseResponses(text: string): RawResponse[] {
  const responses: RawResponse[] = [];
  let rest = text;
  while (rest !== '') {
    const m = rest.match(/^HTTP\/1\.1 (\d{3})[^\r]*\r\n([\s\S]*?)\r\n\r\n/);
    if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(rest.slice(0, 200))}`);
    const length = m[2]!.match(/^content-length: *(\d+)/im);
    const end = length ? m[0].length + Number(length[1]) : rest.length;
    responses.push({ status: Number(m[1]), headers: m[2]!, body: rest.slice(m[0].length, end) });
    rest = rest.slice(end);
  }
  return responses;
}

/**
 * Writes `bytes`, half-closes (unless `halfClose` is false: Node's server drops an answer still
 * being produced when the client half-closes, such as a static file's), and reads every
 * response until the server closes.
 */
function send(port: number, bytes: Buffer | string, halfClose = true): Promise<RawResponse[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer in 5 s')));
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
    socket.on('close', () => {
      try {
        resolve(parseResponses(Buffer.concat(chunks).toString('latin1')));
      } catch (err) {
        reject(err);
      }
    });
    if (halfClose) socket.end(bytes);
    else socket.write(bytes);
  });
}

function assertV1Error(res: RawResponse | undefined, what: string) {
  assert.ok(res, `${what}: an answer`);
  assert.ok(res.status >= 400 && res.status < 500, `${what}: answered ${res.status}`);
  assertV1ErrorBody(res.body, what);
}

describe('malformed HTTP against a server process', () => {
  let server: ServerProcess;
  let dir: string;
  let port: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyward-raw-'));
    server = await startServer({ cwd: dir, env: { KEYWARD_DATABASE_URL: '', KEYWARD_ADMIN_PASSWORD: 'keeper-password-1' } });
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
    ['an HTTP/1.1 request without Host', 'GET /v1/users/info HTTP/1.1\r\nApiKey: kw_x\r\n\r\n', 400],
    ['a malformed percent-encoding in the path', 'GET /v1/apiKeys/%zz HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['a path segment past 4096 characters', `GET /v1/auth/refresh/${'a'.repeat(5000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414],
    ['a non-ASCII byte in the request target', Buffer.concat([Buffer.from('GET /v1/apiKeys/'), Buffer.from([0xff, 0xfe]), Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n')]), 400],
  ];

  for (const [what, bytes, status] of cases) {
    it(`${what}: ${status} with a v1Error body`, async () => {
      const [res, ...more] = await send(port, bytes);
      assertV1Error(res, what);
      assert.equal(res!.status, status, what);
      assert.equal(more.length, 0, `${what}: one answer, then the connection is closed`);
    });
  }

  it('bytes past a request\'s body are read as the next request, and answered as one', async () => {
    const two = 'POST /v1/apiKeys HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n\u0000{}';
    const answers = await send(port, two);
    assert.deepEqual(answers.map((a) => a.status), [401, 400]);
    for (const a of answers) assertV1Error(a, 'each answer');
  });

  it('mutated requests: every answer is a 4xx or 2xx, errors are v1Error, and the server keeps serving', async () => {
    const requests = [
      'POST /v1/apiKeys HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}',
      'POST /v1/apiKeys HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n',
      'GET /v1/users/info?ApiKey=kw_x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
      `PATCH /v1/apiKeys/abc HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${SESSION_COOKIE}=x; ${CSRF_COOKIE}=y\r\nX-CSRF-Token: y\r\nContent-Type: application/json\r\nContent-Length: 18\r\nConnection: close\r\n\r\n{"isActive":false}`,
      'GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n',
    ];
    const mutation = fc.record({
      at: fc.nat({ max: 200 }),
      drop: fc.nat({ max: 8 }),
      insert: fc.uint8Array({ maxLength: 12 }),
    });
    // Unmutated, each request is answered (so the property below checks answers, not silence).
    for (const valid of requests) {
      const answers = await send(port, Buffer.from(valid, 'latin1'), false);
      assert.equal(answers.length, 1, `one answer to ${valid.split('\r\n')[0]}`);
    }
    let answered = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...requests), fc.array(mutation, { minLength: 1, maxLength: 3 }), async (valid, mutations) => {
        let bytes = Buffer.from(valid, 'latin1');
        for (const { at, drop, insert } of mutations) {
          const i = Math.min(at, bytes.length);
          bytes = Buffer.concat([bytes.subarray(0, i), Buffer.from(insert), bytes.subarray(i + drop)]);
        }
        // A request cut short before its end gets no answer when the client hangs up: nothing to check.
        for (const res of await send(port, bytes)) {
          answered++;
          assert.ok(res.status < 500, `answered ${res.status} to ${JSON.stringify(bytes.toString('latin1'))}`);
          if (res.status >= 400) assertV1Error(res, JSON.stringify(bytes.toString('latin1')));
        }
      }),
      { numRuns: RUNS },
    );
    // Most mutations leave a request the server can answer; a run where nothing answered proves nothing.
    assert.ok(answered >= RUNS / 4, `only ${answered} answers to ${RUNS} mutated requests`);
    assert.equal((await http(`${server.url}/healthz`)).status, 200);
  });
});
