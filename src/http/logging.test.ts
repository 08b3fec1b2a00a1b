import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import pino from 'pino';
import { KEY_PREFIX, newApiKey, withChecksum } from '../domain/apiKeyFormat.js';
import { TokenIssuer } from '../service/tokens.js';
import { accessLine, loggerOptions, maskCredentials, redactUrl } from './logging.js';

const KEY = 'kw_4Jx8T2mQpL7vN0cR5sW9yB3dF6hK1aZ0e3GqUo';
const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSIsInRpZCI6InQxIn0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg';
const pct = (s: string) => [...Buffer.from(s)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');

describe('log redaction of URLs', () => {
  it('masks ?ApiKey= in any case and the refresh token, and nothing else', () => {
    assert.equal(redactUrl('/v1/users/info?ApiKey=kw_secret&x=1'), '/v1/users/info?ApiKey=[REDACTED]&x=1');
    assert.equal(redactUrl('/v1/users/info?a=1&apikey=kw_secret'), '/v1/users/info?a=1&apikey=[REDACTED]');
    assert.equal(redactUrl('/v1/users/info?API%4Bey=kw_secret'), '/v1/users/info?API%4Bey=[REDACTED]');
    assert.equal(redactUrl('/v1/auth/refresh/eyJ.abc.def'), '/v1/auth/refresh/[REDACTED]');
    assert.equal(redactUrl('/v1/apiKeys?limit=5'), '/v1/apiKeys?limit=5');
  });

  it('leaves URLs without credentials exactly as sent, encodings included', () => {
    for (const url of ['/v1/users/info', '/v1/apiKeys', '/v1/apiKeys/0123abcd?userUid=x&limit=50&continue=abc', '/v1/audits?resourceUid=a%20b', '/v1/auth/check', '/docs/static/index.html', '/v1/apiKeys/%F0%9F%94%91', '/bad%zz%', '/v1/auth/refresh']) {
      assert.equal(redactUrl(url), url);
    }
  });

  it('redacts the refresh token after decoding: encoded letters, doubled slashes, %2F, any case', () => {
    for (const url of [
      `/v1/auth/refresh/${TOKEN}`,
      `/v1/auth/%72efresh/${TOKEN}`,
      `/v1/auth/%2572efresh/not-a-jwt-but-a-token`,
      `//v1/auth/refresh/${TOKEN}`,
      `/v1/auth//refresh/${TOKEN}`,
      `/v1/auth/refresh%2F${TOKEN}`,
      `/v1/auth/refresh%2f${TOKEN}`,
      `/V1/AUTH/REFRESH/${TOKEN}`,
      `/v1/auth/ReFrEsH/${pct(TOKEN)}`,
      `/v1/auth/refresh/${TOKEN.slice(0, 30)}`,
      `/v1/auth/refresh/opaque-token-value?x=1`,
    ]) {
      const out = redactUrl(url);
      assert.match(out, /^\/[^?]*\[REDACTED\](\?x=1)?$/, `${url} -> ${out}`);
      assert.ok(!out.includes(TOKEN.slice(0, 30)) && !out.includes('opaque') && !out.includes('not-a-jwt'), `${url} -> ${out}`);
    }
  });

  it('redacts credential query parameters however they are spelled and separated', () => {
    for (const url of [
      `/v1/users/info?ApiKey=${KEY}`,
      `/v1/users/info?x=1;ApiKey=${KEY}`,
      `/v1/users/info?x=1;apikey=opaque-value`,
      `/v1/users/info?%41piKey=opaque-value`,
      `/v1/users/info?%2541piKey=opaque-value`,
      `/v1/users/info?APIKEY=opaque-value`,
      `/v1/users/info?api_key=opaque-value`,
      `/v1/users/info?Api+Key=opaque-value`,
      `/v1/users/info?x-api-key=opaque-value`,
      `/v1/users/info?ApiKey%3Dopaque-value`,
      `/v1/users/info?token=opaque-value`,
      `/v1/users/info?access_token=opaque-value`,
      `/v1/users/info?Authorization=opaque-value`,
      `/v1/users/info?a=1#ApiKey=opaque-value`,
      `/v1/users/info?ApiKey=${pct(KEY)}`,
    ]) {
      const out = redactUrl(url);
      assert.ok(out.includes('[REDACTED]'), `${url} -> ${out}`);
      assert.ok(!out.includes('opaque') && !out.includes(KEY.slice(3, 20)) && !out.includes(pct(KEY).slice(9, 40)), `${url} -> ${out}`);
    }
    assert.equal(redactUrl('/v1/users/info?x=1;ApiKey=v&limit=5'), '/v1/users/info?x=1;ApiKey=[REDACTED]&limit=5');
  });

  it('masks key- and token-shaped text anywhere: path, any parameter, encoded, and user:password@', () => {
    for (const url of [
      `/v1/apiKeys/${KEY}`,
      `/v1/users/${KEY}/x`,
      `/v1/apiKeys?continue=${TOKEN}`,
      `/v1/apiKeys?userUid=${pct(KEY)}`,
      `/v1/apiKeys/${pct(KEY)}`,
      `/v1/users/info%3FApiKey=${KEY}`,
      `/x/${KEY.slice(0, 24)}`,
      `/x/a${TOKEN}b`,
      `/x/${TOKEN.split('.').slice(0, 2).join('.')}`,
      `http://someone:opaque-password@127.0.0.1/v1/users/info`,
    ]) {
      const out = redactUrl(url);
      assert.ok(out.includes('[REDACTED]'), `${url} -> ${out}`);
      for (const secret of [KEY.slice(3, 20), TOKEN.split('.')[1], 'opaque']) assert.ok(!out.includes(secret), `${url} -> ${out}`);
    }
  });

  it('masks key and token shapes in any text, and leaves other text alone', () => {
    assert.equal(maskCredentials(`key ${KEY} and token Bearer ${TOKEN}.`), 'key [REDACTED] and token Bearer [REDACTED].');
    assert.equal(maskCredentials('kw_short eyJ uid 0123abcd'), 'kw_short eyJ uid 0123abcd');
  });

  it('a key or token placed anywhere in a random URL, in any encoding, never survives', () => {
    const base62 = fc.string({ unit: fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'), minLength: 32, maxLength: 32 });
    const key = base62.map((r) => withChecksum(KEY_PREFIX + r));
    const b64 = (min: number) => fc.base64String({ minLength: min, maxLength: min + 40 }).map((s) => s.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''));
    const token = fc.tuple(b64(12), b64(12), b64(40)).map(([h, p, s]) => `eyJ${h}.eyJ${p}.${s}`);
    // The secret's own characters that must not survive: a key's random part, a token's payload and signature.
    const cores = (secret: string) => (secret.startsWith('kw_') ? [secret.slice(3, 19), secret.slice(-16)] : secret.split('.').slice(1).map((p) => p.slice(0, 16)));
    const encode = fc.constantFrom(
      (s: string) => s,
      (s: string) => pct(s),
      (s: string) => pct(pct(s)),
      (s: string) => [...s].map((c, i) => (i % 3 === 0 ? pct(c) : c)).join(''),
      (s: string) => [...s].map((c, i) => (i % 2 === 1 ? pct(c).toLowerCase() : c)).join(''),
    );
    const url = fc
      .tuple(fc.webPath(), fc.option(fc.webQueryParameters()), fc.option(fc.webFragments()), fc.constantFrom('', '/v1/auth/refresh/', '/v1/users/info?ApiKey=', '?x=1;'))
      .map(([path, query, fragment, prefix]) => `${prefix.startsWith('?') ? '/p' + prefix : prefix}${path || '/'}${query === null ? '' : `?${query}`}${fragment === null ? '' : `#${fragment}`}`);
    fc.assert(
      fc.property(fc.oneof(key, token), url, fc.nat(), encode, (secret, target, at, enc) => {
        const i = at % (target.length + 1);
        const placed = target.slice(0, i) + enc(secret) + target.slice(i);
        const out = redactUrl(placed);
        for (const core of cores(secret)) assert.ok(!out.includes(core), `${placed}\n -> ${out}`);
        assert.ok(!out.includes(enc(secret)), `${placed}\n -> ${out}`);
      }),
      { numRuns: Number(process.env.KEYWARD_FUZZ_RUNS ?? 2000) },
    );
  });

  it('the security review\'s variants: a key or token with a stray character, without its prefix, or split by odd separators', () => {
    // A real key and a real session token, as the server makes them.
    const K = newApiKey('review-secret').key;
    const T = new TokenIssuer('review-secret', () => Date.now()).issue({ sub: '0123456789abcdef01234567', tid: '89abcdef0123456789abcdef', sid: 'fedcba9876543210fedcba98' }, Date.now() + 60_000);
    const [h, p, sg] = T.split('.') as [string, string, string];
    const encAll = (s: string) => [...s].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`).join('');
    const variants = [
      `/v1/apiKeys?x=${K.slice(0, 12)}-${K.slice(12)}`,
      `/v1/apiKeys?x=${K.slice(0, 12)}%0A${K.slice(12)}`,
      `/v1/apiKeys?x=${K.slice(3)}`,
      `/v1/apiKeys?u=%C1%AB${K.slice(1)}`,
      `/v1/apiKeys?u=%uFF4B${K.slice(1)}`,
      `/v1/apiKeys?u=k%C0%B7${K.slice(2)}`,
      `/v1/apiKeys?ApiKey=${K.slice(0, 3)}%C1%AB${K.slice(3)}`,
      `/v1/apiKeys/${K.slice(3)}`,
      `/v1/x?t=${h}..${p}.${sg}`,
      `/v1/x?t=${h}+.+${p}+.+${sg}`,
      `/v1/x?t=${h}%C0%AE${p}%C0%AE${sg}`,
      `/v1/x?t=${h}%20.${p}.${sg}`,
      `/v1/x?t=${h}%252E${p}%252E${sg}`,
      `/v1/x?t=${p}.${sg}`,
      `/v1/x?t=${h.slice(0, 2)}%4A${h.slice(3)}.${p}.${sg}`,
      `/v1/x?t=%65${h.slice(1)}.${p}.${sg}`,
      `/v1/x/${sg}`,
      `/v1/x?t=${encAll(encAll(sg))}`,
    ];
    // Whatever part of a secret reaches the log, none of it in a piece long enough to matter.
    const windows = (secret: string) => Array.from({ length: secret.length - 15 }, (_, i) => secret.slice(i, i + 16));
    const secrets = [...windows(K.slice(3)), ...windows(p), ...windows(sg)];
    for (const url of variants) {
      const out = redactUrl(url);
      const leaked = secrets.find((w) => out.includes(w));
      assert.equal(leaked, undefined, `${url}\n -> ${out}`);
    }
  });

  it('masks runs of a secret\'s alphabet whatever their prefix; uids, request ids, hashes and words stay readable', () => {
    const K = newApiKey('review-secret').key;
    assert.equal(maskCredentials(`x ${K.slice(3)} y`), 'x [REDACTED] y', 'a key without its prefix');
    assert.equal(maskCredentials(`x ${K.slice(0, 9)}-${K.slice(9)} y`), 'x [REDACTED] y', 'a key with a stray hyphen');
    assert.equal(maskCredentials(`x ${K.slice(10)} y`), 'x [REDACTED] y', 'most of a key');
    for (const readable of [
      'uid 0123456789abcdef01234567 of key 89abcdef0123456789abcdef',
      'request 3f2b8c1e-9d4a-4e6b-8f0a-1c2d3e4f5a6b',
      'hash 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
      '/docs/static/swagger-ui-standalone-preset.js',
      'at processTicksAndRejections (node:internal/process/task_queues:95:5)',
      'kw_short eyJ',
    ]) {
      assert.equal(maskCredentials(readable), readable);
      assert.equal(redactUrl(`/v1/x?q=${readable.replace(/ /g, '+')}`), `/v1/x?q=${readable.replace(/ /g, '+')}`);
    }
  });

  it('a long run of the secrets\' alphabet is masked wherever it sits, in text or a URL', () => {
    const base62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    const run = fc.string({ unit: fc.constantFrom(...base62), minLength: 32, maxLength: 60 }).filter((r) => !/^[0-9a-f]+$/i.test(r));
    const around = fc.string({ unit: fc.constantFrom(...'ab/.: -_=&?x0'), maxLength: 40 });
    fc.assert(
      fc.property(around, run, around, (before, secret, after) => {
        // Whatever the neighbours add, the run is inside one masked stretch.
        assert.ok(!maskCredentials(before + secret + after).includes(secret.slice(0, 32)));
        assert.ok(!redactUrl(`/v1/x/${before}${secret}${after}`).includes(secret.slice(0, 32)));
      }),
      { numRuns: 3000 },
    );
  });

  it('is cheap for URLs with nothing to redact', () => {
    const urls = ['/v1/users/info', '/v1/apiKeys', '/v1/apiKeys/0123456789abcdef01234567', '/v1/apiKeys?limit=50&continue=abc&userUid=0123456789abcdef01234567'];
    const n = 200_000;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) redactUrl(urls[i & 3]);
    const nsPerCall = Number(process.hrtime.bigint() - t0) / n;
    // A generous bound for a loaded CI machine; it is well under 1 µs here.
    assert.ok(nsPerCall < 2000, `${nsPerCall.toFixed(0)} ns per URL`);
  });
});

describe('logged errors', () => {
  it('mask key- and token-shaped text in the message, the stack and a driver\'s detail', () => {
    const lines: string[] = [];
    const stream = new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) });
    const logger = pino(loggerOptions('info'), stream);
    const err = Object.assign(new Error(`could not use ${KEY}`), { detail: `Key (name)=(${TOKEN}) already exists.` });
    logger.error({ err }, 'request failed');
    const line = lines.join('');
    assert.ok(!line.includes(KEY) && !line.includes(TOKEN.split('.')[2]), line);
    const logged = JSON.parse(line).err;
    assert.equal(logged.message, 'could not use [REDACTED]');
    assert.equal(logged.detail, 'Key (name)=([REDACTED]) already exists.');
    assert.match(logged.stack, /could not use \[REDACTED\]/);
  });

  it('mask key- and token-shaped text in the message of any line', () => {
    const lines: string[] = [];
    const stream = new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) });
    const logger = pino(loggerOptions('info'), stream);
    logger.error({ reqId: 'r' }, `failed for ${KEY}`);
    logger.warn(`token %s`, TOKEN);
    assert.deepEqual(lines.map((l) => JSON.parse(l).msg), ['failed for [REDACTED]', 'token [REDACTED]']);
  });
});

describe('the access line', () => {
  const capture = (level: string) => {
    const lines: string[] = [];
    const stream = new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) });
    return { lines, logger: pino(loggerOptions(level), stream) };
  };
  // What the access line reads of a request, as Fastify's request has it.
  const request = (url: string, ip: string | undefined, log: unknown) => ({ id: '35b4b19f354c74e9ad19595303b031dc', method: 'GET', url, ip, log }) as never;
  // The time is the one field the two lines cannot share.
  const timeless = (line: string) => line.replace(/"time":\d+/, '"time":0');

  it('is the line pino writes for the same fields, byte for byte, with the URL redacted and valid JSON whatever it holds', () => {
    const built = capture('info');
    const viaPino = capture('info');
    const write = accessLine(built.logger as never)!;
    for (const [url, ip] of [
      ['/v1/users/info', '127.0.0.1'],
      [`/v1/users/info?ApiKey=${KEY}`, '::1'],
      [`/v1/auth/refresh/${TOKEN}`, '2001:db8::1'],
      ['/v1/x?q="quoted"\\back\tslash\u0001', '10.0.0.1'],
      ['/v1/apiKeys/é🔑\ud800', undefined],
    ] as const) {
      write(request(url, ip, built.logger), 200, 1.25);
      const r = request(url, ip, viaPino.logger);
      viaPino.logger.info({ reqId: '35b4b19f354c74e9ad19595303b031dc', req: r, res: { statusCode: 200 }, responseTime: 1.25 }, 'request completed');
    }
    assert.equal(built.lines.length, 5);
    assert.deepEqual(built.lines.map(timeless), viaPino.lines.map(timeless));
    for (const line of built.lines) {
      const record = JSON.parse(line);
      assert.equal(typeof record.time, 'number');
      assert.ok(Math.abs(record.time - Date.now()) < 60_000);
      assert.ok(!line.includes(KEY) && !line.includes(TOKEN), line);
    }
  });

  it('is not written at all above info', () => {
    assert.equal(accessLine(capture('warn').logger as never), undefined);
  });
});
