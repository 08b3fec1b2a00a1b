/** Bad input of any shape gets a clear 4xx with Palette's error body, and changes nothing. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { eachDatabase } from './helpers/harness.js';
import { assertV1ErrorBody } from './helpers/palette.js';

eachDatabase('bad input', (h) => {
  const expectError = (res: { statusCode: number; body: string }, status: number, code: string) => {
    assert.equal(res.statusCode, status);
    const body = assertV1ErrorBody(res.body);
    assert.equal(body.code, code);
    assert.ok(body.message.length > 0);
  };

  it('malformed bodies, wrong types and odd content types', async () => {
    const user = await h().createUser();
    const key = await h().createKey(user);
    const auth = user.auth;
    const json = { 'content-type': 'application/json' };
    expectError(await h().inject('POST', '/v1/apiKeys', { headers: { ...auth, ...json }, payload: '{"metadata": ' }), 400, 'BadRequest');
    expectError(await h().inject('POST', '/v1/apiKeys', { headers: { ...auth, ...json }, payload: '[]' }), 400, 'BadRequest');
    expectError(await h().inject('POST', '/v1/apiKeys', { headers: { ...auth, ...json }, payload: '"text"' }), 400, 'BadRequest');
    expectError(await h().inject('POST', '/v1/apiKeys', { headers: { ...auth, ...json }, payload: 'null' }), 400, 'BadRequest');
    expectError(await h().inject('POST', '/v1/apiKeys', { headers: auth, body: { metadata: { name: 5 }, spec: { expiry: h().expiryIn(1) } } }), 400, 'BadRequest');
    expectError(await h().inject('POST', '/v1/apiKeys', { headers: { ...auth, 'content-type': 'text/plain' }, payload: 'hello' }), 415, 'UnsupportedMediaType');
    expectError(await h().inject('POST', '/v1/apiKeys', { headers: { ...auth, ...json }, payload: JSON.stringify({ metadata: { name: 'x'.repeat(100_000) } }) }), 413, 'PayloadTooLarge');
    // "false" as a string must not revoke: wrong types are refused, not coerced.
    expectError(await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: auth, body: { isActive: 'false' } }), 400, 'BadRequest');
    expectError(await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: auth, body: { isActive: 0 } }), 400, 'BadRequest');
    expectError(await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: { ...auth, ...json }, payload: '[true]' }), 400, 'BadRequest');
    assert.equal(await h().useKey(key.apiKey), 200, 'nothing was revoked');
    // Prototype pollution attempts are refused by the JSON parser.
    expectError(await h().inject('POST', '/v1/apiKeys', { headers: { ...auth, ...json }, payload: '{"__proto__": {"x": 1}, "metadata": {"name": "p"}}' }), 400, 'BadRequest');
    expectError(await h().inject('GET', '/v1/apiKeys?limit=abc', { headers: auth }), 400, 'BadRequest');
    expectError(await h().inject('GET', '/v1/apiKeys?limit=-1', { headers: auth }), 400, 'BadRequest');
  });

  it('unknown paths and methods, and garbage uids', async () => {
    const auth = h().admin.auth;
    expectError(await h().inject('GET', '/v1/nothing-here', { headers: auth }), 404, 'ResourceNotFound');
    expectError(await h().inject('POST', '/v1/apiKeys/abc/def', { headers: auth }), 404, 'ResourceNotFound');
    expectError(await h().inject('GET', `/v1/apiKeys/${'a'.repeat(200)}`, { headers: auth }), 400, 'BadRequest');
    for (const uid of ['%00', "'%20or%201=1--", '..%2F..%2Fetc', '%F0%9F%94%91']) {
      const res = await h().inject('GET', `/v1/apiKeys/${uid}`, { headers: auth });
      assert.ok([400, 404].includes(res.statusCode), `${uid}: ${res.statusCode}`);
    }
  });

  it('malformed and near-valid keys and tokens get 401, never 5xx', async () => {
    const { apiKey } = await h().createKey(h().admin);
    const flipped = apiKey.slice(0, 10) + (apiKey[10] === 'a' ? 'b' : 'a') + apiKey.slice(11);
    const candidates = ['', ' ', 'kw_', apiKey.slice(0, -1), `${apiKey}x`, flipped, apiKey.toLowerCase(), 'x'.repeat(5000), '\u00e9\u00e9', `${apiKey.slice(0, -6)}000000`];
    for (const candidate of candidates) {
      const res = await h().inject('GET', '/v1/users/info', { headers: { ApiKey: candidate } });
      assert.equal(res.statusCode, 401, JSON.stringify(candidate.slice(0, 20)));
      assert.equal(res.json().code, 'Unauthorized');
    }
    for (const token of ['Bearer', 'Bearer ', 'a.b.c', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', 'Basic dXNlcjpwYXNz']) {
      const res = await h().inject('GET', '/v1/users/info', { headers: { Authorization: token } });
      assert.equal(res.statusCode, 401, token);
    }
    expectError(await h().inject('GET', '/v1/apiKeys'), 401, 'Unauthorized');
  });
});

eachDatabase('verify service and forward auth', (h) => {
  it('POST /v1/apiKeys/verify says why a key is not valid, and hides other tenants\' keys', async () => {
    const user = await h().createUser();
    const key = await h().createKey(user, { days: 2 });
    const verify = async (k: string) => (await h().inject('POST', '/v1/apiKeys/verify', { headers: h().admin.auth, body: { key: k } })).json();
    const valid = await verify(key.apiKey);
    assert.deepEqual(
      { valid: valid.valid, code: valid.code, keyUid: valid.keyUid, userUid: valid.userUid, tenantUid: valid.tenantUid },
      { valid: true, code: 'VALID', keyUid: key.uid, userUid: user.uid, tenantUid: h().tenantUid },
    );
    assert.equal(valid.expiry, h().expiryIn(2));
    assert.equal((await verify('kw_garbage')).code, 'NOT_FOUND');
    await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { isActive: false } });
    assert.deepEqual([(await verify(key.apiKey)).valid, (await verify(key.apiKey)).code], [false, 'INACTIVE']);
    h().clock.now += 3 * 86_400_000;
    try {
      const admin = await h().signIn(h().admin.email, h().admin.password);
      const expired = (await h().inject('POST', '/v1/apiKeys/verify', { headers: admin.auth, body: { key: key.apiKey } })).json();
      assert.equal(expired.code, 'EXPIRED');
    } finally {
      h().clock.now -= 3 * 86_400_000;
    }
    const foreign = await h().createTenant('verify-other');
    const foreignKey = await h().createKey(foreign);
    const cross = await verify(foreignKey.apiKey);
    assert.deepEqual(cross, { valid: false, code: 'NOT_FOUND' });
  });

  it('GET /v1/auth/check answers 200 with the owner in headers, or 401', async () => {
    const user = await h().createUser();
    const key = await h().createKey(user);
    const ok = await h().inject('GET', '/v1/auth/check', { headers: { ApiKey: key.apiKey } });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.headers['x-keyward-user'], user.uid);
    assert.equal(ok.headers['x-keyward-tenant'], h().tenantUid);
    assert.equal(ok.headers['x-keyward-key'], key.uid);
    assert.equal((await h().inject('GET', '/v1/auth/check')).statusCode, 401);
    await h().inject('PATCH', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: {} });
    const revoked = await h().inject('GET', '/v1/auth/check', { headers: { ApiKey: key.apiKey } });
    assert.equal(revoked.statusCode, 401);
    assert.equal(revoked.headers['x-keyward-user'], undefined);
  });

  it('health and readiness', async () => {
    assert.equal((await h().inject('GET', '/healthz')).statusCode, 200);
    assert.equal((await h().inject('GET', '/readyz')).json().status, 'ready');
  });
});

eachDatabase('NUL characters', (h) => {
  it('are refused with 400 in bodies, paths and queries', async () => {
    const auth = h().admin.auth;
    for (const [method, url, body] of [
      ['POST', '/v1/auth/authenticate', { emailId: 'a\u0000@b.c', password: 'x' }],
      ['POST', '/v1/users', { spec: { emailId: 'nul\u0000@example.com' } }],
      ['POST', '/v1/apiKeys', { metadata: { name: 'n', annotations: { description: 'a\u0000' } }, spec: { expiry: h().expiryIn(1) } }],
      ['GET', '/v1/apiKeys?userUid=%00', undefined],
      ['GET', '/v1/audits?resourceUid=a%00', undefined],
    ] as const) {
      const res = await h().inject(method, url, { headers: auth, body });
      assert.equal(res.statusCode, 400, `${method} ${url}`);
      assert.equal(res.json().code, 'BadRequest');
    }
  });
});

eachDatabase('request bodies: encoding and shape', (h) => {
  const json = { 'content-type': 'application/json' };
  /** What a refused request must not change: every key and user as stored. */
  async function snapshot(): Promise<string> {
    const db = h().store.connection.db;
    const keys = await db.selectFrom('api_keys').selectAll().orderBy('uid').execute();
    const users = await db.selectFrom('users').selectAll().orderBy('uid').execute();
    return JSON.stringify({ keys, users });
  }
  async function refused(method: string, url: string, headers: Record<string, string>, payload: string | Buffer | undefined, status: number, code: string) {
    const before = await snapshot();
    const res = await h().app.inject({ method: method as any, url, headers, ...(payload === undefined ? {} : { payload }) });
    assert.equal(res.statusCode, status, `${method} ${url} ${JSON.stringify(String(payload)).slice(0, 80)}: ${res.body}`);
    const body = assertV1ErrorBody(res.body);
    assert.equal(body.code, code);
    assert.equal(await snapshot(), before, `${method} ${url} was refused but changed something`);
    return body;
  }
  const keyBody = (name: string) => `{"metadata":{"name":"${name}","annotations":{"description":"d"}},"spec":{"expiry":"${h().expiryIn(5)}"}}`;
  const withBytes = (before: string, bytes: number[], after: string) => Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]);

  it('bytes that are not UTF-8 anywhere in a body are refused, never replaced with U+FFFD', async () => {
    const user = await h().createUser();
    const auth = { ...user.auth, ...json };
    const expiry = h().expiryIn(5);
    // FF; an encoded surrogate (ED A0 80); a truncated sequence; an overlong '/'; a lone continuation byte.
    for (const bytes of [[0xff], [0xed, 0xa0, 0x80], [0xf0, 0x9f, 0x98], [0xc0, 0xaf], [0x80], [0xc3, 0x28]]) {
      const what = Buffer.from(bytes).toString('hex');
      const inName = withBytes('{"metadata":{"name":"bad', bytes, `"},"spec":{"expiry":"${expiry}"}}`);
      const body = await refused('POST', '/v1/apiKeys', auth, inName, 400, 'BadRequest');
      assert.match(body.message, /UTF-8/, what);
      // In a field no endpoint reads, in an object key, and in the users endpoint.
      await refused('POST', '/v1/apiKeys', auth, withBytes('{"metadata":{"name":"ok"},"spec":{"expiry":"' + expiry + '"},"x":"', bytes, '"}'), 400, 'BadRequest');
      await refused('POST', '/v1/apiKeys', auth, withBytes('{"metadata":{"name":"ok"},"spec":{"expiry":"' + expiry + '"},"', bytes, '":1}'), 400, 'BadRequest');
      await refused('POST', '/v1/users', { ...h().admin.auth, ...json }, withBytes('{"spec":{"emailId":"utf8@example.com","firstName":"A', bytes, '"}}'), 400, 'BadRequest');
    }
    // Valid UTF-8 beyond ASCII is taken as sent.
    const res = await h().inject('POST', '/v1/apiKeys', { headers: auth, payload: keyBody('clé 🔑 키') });
    assert.equal(res.statusCode, 201, res.body);
    const got = await h().inject('GET', `/v1/apiKeys/${res.json().uid}`, { headers: user.auth });
    assert.equal(got.json().metadata.name, 'clé 🔑 키');
  });

  it('JSON-escaped lone surrogates are refused, in values and in keys; escaped pairs are taken', async () => {
    const user = await h().createUser();
    const auth = { ...user.auth, ...json };
    for (const name of ['\\ud800', '\\udc00', 'a\\uD83D', '\\uDE00b', '\\udbff\\udbff', '\\ude00\\ud83d']) {
      const body = await refused('POST', '/v1/apiKeys', auth, keyBody(name), 400, 'BadRequest');
      assert.match(body.message, /surrogate/, name);
    }
    const expiry = h().expiryIn(5);
    await refused('POST', '/v1/apiKeys', auth, `{"metadata":{"name":"k","annotations":{"\\ud800":"x"}},"spec":{"expiry":"${expiry}"}}`, 400, 'BadRequest');
    await refused('POST', '/v1/apiKeys', auth, `{"\\udfff":1,"metadata":{"name":"k"},"spec":{"expiry":"${expiry}"}}`, 400, 'BadRequest');
    await refused('POST', '/v1/auth/authenticate', json, '{"emailId":"a@b.example","password":"\\ud800"}', 400, 'BadRequest');
    const key = await h().createKey(user);
    await refused('PUT', `/v1/apiKeys/${key.uid}`, auth, '{"metadata":{"annotations":{"description":"x\\udc00"}}}', 400, 'BadRequest');
    const pair = await h().inject('POST', '/v1/apiKeys', { headers: auth, payload: keyBody('pair \\ud83d\\ude00') });
    assert.equal(pair.statusCode, 201, pair.body);
    assert.equal((await h().inject('GET', `/v1/apiKeys/${pair.json().uid}`, { headers: user.auth })).json().metadata.name, 'pair 😀');
  });

  it('a charset other than UTF-8 is 415; utf-8 and utf8 in any case are taken', async () => {
    const user = await h().createUser();
    for (const charset of ['latin1', 'ISO-8859-1', 'utf-16', 'UTF-16LE', 'us-ascii', '"windows-1252"', '']) {
      const body = await refused('POST', '/v1/apiKeys', { ...user.auth, 'content-type': `application/json; charset=${charset}` }, keyBody(`cs-${charset}`), 415, 'UnsupportedMediaType');
      assert.match(body.message, /UTF-8/);
    }
    for (const [i, charset] of ['utf-8', 'UTF-8', '"utf-8"', 'utf8', 'Utf8'].entries()) {
      const res = await h().inject('POST', '/v1/apiKeys', { headers: { ...user.auth, 'content-type': `application/json; charset=${charset}` }, payload: keyBody(`charset-ok-${i}`) });
      assert.equal(res.statusCode, 201, `${charset}: ${res.body}`);
    }
  });

  it('a body that is not the object an endpoint expects is 400 on every endpoint that takes a body', async () => {
    const user = await h().createUser();
    const key = await h().createKey(user);
    const endpoints: [string, string, Record<string, string>][] = [
      ['POST', '/v1/apiKeys', user.auth],
      ['PUT', `/v1/apiKeys/${key.uid}`, user.auth],
      ['PATCH', `/v1/apiKeys/${key.uid}`, user.auth],
      ['PUT', `/v1/apiKeys/${key.uid}/state`, user.auth],
      ['POST', '/v1/users', h().admin.auth],
      ['POST', '/v1/auth/authenticate', {}],
      ['POST', '/v1/apiKeys/verify', h().admin.auth],
    ];
    for (const [method, url, auth] of endpoints) {
      for (const payload of ['null', '[]', '[{}]', '5', '"text"', 'true', '', '  \r\n']) {
        const body = await refused(method, url, { ...auth, ...json }, payload, 400, 'BadRequest');
        assert.match(body.message, /JSON object/, `${method} ${url} ${payload}`);
      }
      // No body and no Content-Type at all.
      await refused(method, url, auth, undefined, 400, 'BadRequest');
      // An object with no field the endpoint reads.
      await refused(method, url, { ...auth, ...json }, '{"unrelated": true}', 400, 'BadRequest');
    }
    // Nothing in an update changes anything: refused, and saying what to send.
    for (const payload of ['{}', '{"metadata":{}}', '{"metadata":{"annotations":{}}}', '{"spec":{}}', '{"metadata":null}']) {
      const body = await refused('PUT', `/v1/apiKeys/${key.uid}`, { ...user.auth, ...json }, payload, 400, 'BadRequest');
      assert.match(body.message, /metadata\.name/, payload);
    }
    const stateBody = await refused('PATCH', `/v1/apiKeys/${key.uid}`, { ...user.auth, ...json }, '{"isactive": false}', 400, 'BadRequest');
    assert.match(stateBody.message, /isActive/);
    assert.equal(await h().useKey(key.apiKey), 200, 'no refused body revoked the key');
    // Each field alone is an update.
    for (const payload of ['{"metadata":{"name":"renamed"}}', '{"metadata":{"annotations":{"description":"new"}}}', `{"spec":{"expiry":"${h().expiryIn(9)}"}}`]) {
      const res = await h().inject('PUT', `/v1/apiKeys/${key.uid}`, { headers: { ...user.auth, ...json }, payload });
      assert.equal(res.statusCode, 204, `${payload}: ${res.body}`);
    }
  });

  it('{} still revokes (Palette\'s Go SDK), and GET and DELETE with Content-Type: application/json and no body still work', async () => {
    const user = await h().createUser();
    for (const suffix of ['', '/state']) {
      const key = await h().createKey(user);
      const method = suffix ? 'PUT' : 'PATCH';
      const res = await h().inject(method, `/v1/apiKeys/${key.uid}${suffix}`, { headers: { ...user.auth, ...json }, payload: '{}' });
      assert.equal(res.statusCode, 204, res.body);
      assert.equal(await h().useKey(key.apiKey), 401);
    }
    const key = await h().createKey(user);
    for (const payload of [undefined, '']) {
      const got = await h().inject('GET', `/v1/apiKeys/${key.uid}`, { headers: { ...user.auth, ...json }, payload });
      assert.equal(got.statusCode, 200, got.body);
      assert.equal((await h().inject('GET', '/v1/users/info', { headers: { ...user.auth, ...json }, payload })).statusCode, 200);
    }
    const deleted = await h().inject('DELETE', `/v1/apiKeys/${key.uid}`, { headers: { ...user.auth, ...json }, payload: '' });
    assert.equal(deleted.statusCode, 204, deleted.body);
  });
});

eachDatabase('control and format characters', (h) => {
  // Bidi override U+202E, ESC (a terminal colour sequence), DEL, a C1 control (NEL), zero-width
  // space, zero-width joiner, soft hyphen, BOM, an astral format character (a tag), and the line
  // and paragraph separators.
  const unsafe = ['evil\u202Etxt.exe', '\u001b[31mred', 'a\u007f', 'a\u0085b', 'ad\u200Bmin', 'a\u200Db', 'soft\u00ADhyphen', '\uFEFFbom', 'tag\u{E0041}', 'a\u2028b', 'a\u2029b', 'tab\there', 'new\nline'];

  async function count() {
    const db = h().store.connection.db;
    const keys = await db.selectFrom('api_keys').select(db.fn.countAll().as('n')).executeTakeFirstOrThrow();
    const users = await db.selectFrom('users').select(db.fn.countAll().as('n')).executeTakeFirstOrThrow();
    return `${keys.n}/${users.n}`;
  }
  function refusedFor(res: { statusCode: number; body: string }, field: string, what: string) {
    assert.equal(res.statusCode, 400, `${field} ${JSON.stringify(what)}: ${res.body}`);
    const body = assertV1ErrorBody(res.body);
    assert.equal(body.code, 'BadRequest');
    assert.ok(body.message.includes(field), `the message names ${field}: ${body.message}`);
    assert.match(body.message, /control or invisible formatting characters \(found U\+[0-9A-F]{4,6}/);
    assert.equal(body.details?.field, field);
  }

  it('are refused in key names, user names and emails, with the field and the character named', async () => {
    const user = await h().createUser();
    const key = await h().createKey(user);
    const before = await count();
    for (const s of unsafe) {
      refusedFor(await h().inject('POST', '/v1/apiKeys', { headers: user.auth, body: { metadata: { name: s }, spec: { expiry: h().expiryIn(3) } } }), 'metadata.name', s);
      refusedFor(await h().inject('PUT', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { metadata: { name: s } } }), 'metadata.name', s);
      const spec = (extra: object) => ({ spec: { emailId: `cc-${Math.random().toString(36).slice(2)}@example.com`, firstName: 'F', lastName: 'L', ...extra } });
      refusedFor(await h().inject('POST', '/v1/users', { headers: h().admin.auth, body: spec({ firstName: s }) }), 'spec.firstName', s);
      refusedFor(await h().inject('POST', '/v1/users', { headers: h().admin.auth, body: spec({ lastName: s }) }), 'spec.lastName', s);
      refusedFor(await h().inject('POST', '/v1/users', { headers: h().admin.auth, body: spec({ emailId: `x${s}@example.com` }) }), 'spec.emailId', s);
    }
    // The examples of the review: ESC sequences in an email, U+202E in a key name.
    refusedFor(await h().inject('POST', '/v1/users', { headers: h().admin.auth, body: { spec: { emailId: '\u001b]8;;http://evil\u0007a@example.com' } } }), 'spec.emailId', 'OSC');
    assert.equal(await count(), before, 'nothing was created');
    const got = await h().inject('GET', `/v1/apiKeys/${key.uid}`, { headers: user.auth });
    assert.equal(got.json().metadata.name, key.name, 'nothing was renamed');
  });

  it('are refused in tenant names', async () => {
    for (const s of unsafe) {
      await assert.rejects(h().services.users.createTenant({ name: s, adminEmail: `t-${Math.random().toString(36).slice(2)}@example.com` }), (err: any) => {
        assert.equal(err.code, 'BadRequest');
        assert.match(err.message, /^name must not contain control or invisible formatting characters/);
        return true;
      });
    }
  });

  it('descriptions keep line breaks and tabs, and refuse every other control and format character', async () => {
    const user = await h().createUser();
    const multiline = 'first line\nsecond\tline\r\nthird';
    const created = await h().inject('POST', '/v1/apiKeys', { headers: user.auth, body: { metadata: { name: 'multi', annotations: { description: multiline } }, spec: { expiry: h().expiryIn(3) } } });
    assert.equal(created.statusCode, 201, created.body);
    const got = await h().inject('GET', `/v1/apiKeys/${created.json().uid}`, { headers: user.auth });
    assert.equal(got.json().metadata.annotations.description, multiline);
    for (const s of unsafe.filter((c) => !/[\t\n]/.test(c))) {
      const field = 'metadata.annotations.description';
      const res = await h().inject('POST', '/v1/apiKeys', { headers: user.auth, body: { metadata: { name: 'd', annotations: { description: s } }, spec: { expiry: h().expiryIn(3) } } });
      refusedFor(res, field, s);
      assert.match(res.json().message, /line breaks and tabs are allowed/);
      refusedFor(await h().inject('PUT', `/v1/apiKeys/${created.json().uid}`, { headers: user.auth, body: { metadata: { annotations: { description: s } } } }), field, s);
    }
  });

  it('ordinary letters of any script, emoji and spaces are still names', async () => {
    const user = await h().createUser();
    for (const name of ['Zoë’s key', 'مفتاح', 'キー 🔑', 'Ελληνικά', 'hé-llo_1.2', '❤\uFE0F team', 'नमस्ते', 'a\u2800b']) {
      const res = await h().inject('POST', '/v1/apiKeys', { headers: user.auth, body: { metadata: { name }, spec: { expiry: h().expiryIn(3) } } });
      assert.equal(res.statusCode, 201, `${name}: ${res.body}`);
    }
  });

  // Letters and marks that display as nothing (Default_Ignorable_Code_Point): HANGUL FILLER, the
  // Hangul choseong and jungseong fillers, HALFWIDTH HANGUL FILLER, COMBINING GRAPHEME JOINER, a
  // Mongolian free variation selector, variation selectors (a text one after a letter, VS1,
  // VS17), and an unassigned default-ignorable code point.
  const invisible = ['\u3164', 'ad\u3164min', '\u115F', 'a\u1160', '\uFFA0x', 'a\u034Fb', 'a\u180Bb', 'admin\uFE0F', 'a\uFE00', 'a\u{E0100}', 'a\u{E0FFF}'];

  it('invisible letters are refused in key names, descriptions, user names, emails and tenant names', async () => {
    const user = await h().createUser();
    const key = await h().createKey(user);
    const before = await count();
    for (const s of invisible) {
      refusedFor(await h().inject('POST', '/v1/apiKeys', { headers: user.auth, body: { metadata: { name: s }, spec: { expiry: h().expiryIn(3) } } }), 'metadata.name', s);
      refusedFor(await h().inject('PUT', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { metadata: { name: s } } }), 'metadata.name', s);
      refusedFor(
        await h().inject('POST', '/v1/apiKeys', { headers: user.auth, body: { metadata: { name: 'inv', annotations: { description: `see ${s}` } }, spec: { expiry: h().expiryIn(3) } } }),
        'metadata.annotations.description',
        s,
      );
      const spec = (extra: object) => ({ spec: { emailId: `inv-${Math.random().toString(36).slice(2)}@example.com`, firstName: 'F', lastName: 'L', ...extra } });
      refusedFor(await h().inject('POST', '/v1/users', { headers: h().admin.auth, body: spec({ firstName: s }) }), 'spec.firstName', s);
      refusedFor(await h().inject('POST', '/v1/users', { headers: h().admin.auth, body: spec({ lastName: s }) }), 'spec.lastName', s);
      refusedFor(await h().inject('POST', '/v1/users', { headers: h().admin.auth, body: spec({ emailId: `x${s}@example.com` }) }), 'spec.emailId', s);
      await assert.rejects(h().services.users.createTenant({ name: s, adminEmail: `t-${Math.random().toString(36).slice(2)}@example.com` }), (err: any) => {
        assert.equal(err.code, 'BadRequest');
        assert.match(err.message, /^name must not contain control or invisible formatting characters/);
        return true;
      });
    }
    assert.equal(await count(), before, 'nothing was created');
  });

  it('a name that is blank once whitespace of every kind and BRAILLE PATTERN BLANK are taken away is refused', async () => {
    const user = await h().createUser();
    const before = await count();
    for (const s of ['\u2800', '\u2800 \u2800', '\u3000', '\u2003\u00A0', '\u205F\u2800']) {
      const res = await h().inject('POST', '/v1/apiKeys', { headers: user.auth, body: { metadata: { name: s }, spec: { expiry: h().expiryIn(3) } } });
      assert.equal(res.statusCode, 400, `${JSON.stringify(s)}: ${res.body}`);
      assert.match(assertV1ErrorBody(res.body).message, /^metadata\.name is required/);
      await assert.rejects(h().services.users.createTenant({ name: s, adminEmail: `t-${Math.random().toString(36).slice(2)}@example.com` }), /name is required/);
    }
    assert.equal(await count(), before);
  });
});

eachDatabase('email addresses', (h) => {
  const create = (emailId: string) =>
    h().inject('POST', '/v1/users', { headers: h().admin.auth, body: { spec: { emailId, firstName: 'E', lastName: 'Mail', password: 'a-long-enough-password-1' } } });

  it('one recipient only: a domain of letter, digit and hyphen labels joined by dots, a dot-atom before the @', async () => {
    for (const emailId of [
      'a@x.com,evil.com',
      'a,b@x.com',
      'a@x.com;b@y.com',
      'a@x.com>',
      '<a@x.com>',
      'a b@x.com',
      '"a"@x.com',
      'a@[1.2.3.4]',
      'a@x..com',
      'a@.x.com',
      'a@x.com.',
      'a@-x.com',
      'a@x-.com',
      'a@x_y.com',
      'a@x/y.com',
      'a@x.com:25',
      '.a@x.com',
      'a.@x.com',
      'a..b@x.com',
      'a(comment)@x.com',
      'a\\b@x.com',
      `a@${'x'.repeat(64)}.com`,
    ]) {
      const res = await create(emailId);
      assert.equal(res.statusCode, 400, `${emailId}: ${res.body}`);
      assert.equal(assertV1ErrorBody(res.body).details?.field, 'spec.emailId', emailId);
    }
  });

  it('ordinary addresses, international ones included, are still accepted', async () => {
    for (const emailId of ["first.last+tag@sub.example.com", "o'neil@example.com", 'user@localhost', 'x_y-z@a-b.example', 'Üser@bücher.example', 'a@xn--bcher-kva.example', `a@${'x'.repeat(63)}.com`]) {
      const res = await create(emailId);
      assert.equal(res.statusCode, 201, `${emailId}: ${res.body}`);
    }
  });
});
