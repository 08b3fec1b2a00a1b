/**
 * Credentials never reach the request log, however the URL spells them: each variant is sent
 * as a raw HTTP request (so that no client library normalises it) to an app listening with the
 * server's own logger options, and the log it wrote is searched for the key and the token.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApp } from '../src/http/app.js';
import { loggerOptions } from '../src/http/logging.js';
import { eachDatabase } from './helpers/harness.js';

const pct = (s: string) => [...Buffer.from(s)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');

function rawGet(port: number, target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    let response = '';
    socket.on('data', (d) => (response += d));
    socket.on('end', () => resolve(response));
    socket.on('error', reject);
  });
}

eachDatabase('credentials in URLs never reach the log', (h) => {
  let app: FastifyInstance;
  let port: number;
  const lines: string[] = [];

  before(async () => {
    const stream = new Writable({ write: (chunk, _enc, cb) => (lines.push(...String(chunk).split('\n').filter(Boolean)), cb()) });
    app = await buildApp({ services: h().services, logger: pino(loggerOptions('info'), stream) });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as { port: number }).port;
  });
  after(async () => app?.close());

  /**
   * Sends each target over a raw socket, checks each was answered, and returns the access lines
   * they made (one each) and the whole log they wrote. The logger writes synchronously to this
   * stream, so the lines are all there once the answers are.
   */
  async function logOf(variants: string[]) {
    lines.length = 0;
    for (const target of variants) {
      const response = await rawGet(port, target);
      assert.match(response, /^HTTP\/1.1 [234]\d\d /, `${target.slice(0, 40)}: ${response.split('\r\n')[0]}`);
    }
    const requestLines = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request completed');
    assert.equal(requestLines.length, variants.length);
    return { requestLines, log: lines.join('\n') };
  }

  it('in every spelling of the refresh path and of ?ApiKey=, and as bare key or token shapes', async () => {
    const user = await h().createUser();
    const { apiKey: key } = await h().createKey(user);
    const token = user.token;
    // Some are served (the router decodes %72efresh, and takes ?ApiKey= in any case), some refused:
    // either way the request is logged.
    const variants = [
      `/v1/auth/refresh/${token}`,
      `/v1/auth/%72efresh/${token}`,
      `//v1/auth/refresh/${token}`,
      `/v1/auth/refresh%2F${token}`,
      `/V1/AUTH/REFRESH/${token}`,
      `/v1/auth/refresh/${pct(token)}`,
      `/v1/users/info?ApiKey=${key}`,
      `/v1/users/info?x=1;ApiKey=${key}`,
      `/v1/users/info?%41piKey=${key}`,
      `/v1/users/info?x=1&APIKEY=${key}`,
      `/v1/users/info?apikey=${pct(key)}`,
      `/v1/users/info?Api+Key=${key}`,
      `/v1/apiKeys/${key}`,
      `/v1/users/info?access_token=${token}`,
      `http://127.0.0.1/v1/users/info?ApiKey=${key}`,
    ];
    const { requestLines, log } = await logOf(variants);
    for (const line of requestLines) assert.ok(line.req.url.includes('[REDACTED]'), line.req.url);
    for (const secret of [key, key.slice(3, 20), pct(key).slice(0, 30), token, token.split('.')[1], token.split('.')[2], pct(token).slice(0, 30)]) {
      assert.ok(!log.includes(secret), `the log holds ${secret.slice(0, 12)}…`);
    }
  });

  it('the security review\'s variants: keys with a stray character or without kw_, odd encodings of kw_, tokens split by odd separators', async () => {
    const user = await h().createUser();
    const { apiKey: K } = await h().createKey(user);
    const [hd, p, sg] = user.token.split('.') as [string, string, string];
    const variants = [
      `/v1/apiKeys?x=${K.slice(0, 12)}-${K.slice(12)}`,
      `/v1/apiKeys?x=${K.slice(0, 9)}-${K.slice(9)}`,
      `/v1/apiKeys?x=${K.slice(0, 12)}%0A${K.slice(12)}`,
      `/v1/apiKeys?x=${K.slice(3)}`,
      `/v1/apiKeys?ApiKey=${K.slice(0, 3)}%C1%AB${K.slice(3)}`,
      `/v1/apiKeys?u=%C1%AB${K.slice(1)}`,
      `/v1/apiKeys?u=%uFF4B${K.slice(1)}`,
      `/v1/apiKeys/${K.slice(3)}`,
      `/v1/x?t=${hd}..${p}.${sg}`,
      `/v1/x?t=${hd}+.+${p}+.+${sg}`,
      `/v1/x?t=${hd}%C0%AE${p}%C0%AE${sg}`,
      `/v1/x?t=${hd}%20.${p}.${sg}`,
      `/v1/x?t=${p}.${sg}`,
      `/v1/x/${sg}`,
    ];
    const { log } = await logOf(variants);
    // No piece of the key's secret, the token's payload or its signature long enough to matter.
    const windows = (secret: string) => Array.from({ length: secret.length - 15 }, (_, i) => secret.slice(i, i + 16));
    for (const w of [...windows(K.slice(3)), ...windows(p), ...windows(sg)]) assert.ok(!log.includes(w), `the log holds ${w.slice(0, 8)}…`);
  });
});
