/**
 * Every value a list takes from its query string and hands to SQL (a continue token's position
 * and uid, offset, userUid, resourceUid) is checked first: what cannot be a real value, such as
 * a NUL (PostgreSQL refuses it in text) or bytes that are not UTF-8, gets 400, never 500.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { eachDatabase } from './helpers/harness.js';
import { assertV1ErrorBody } from './helpers/palette.js';

const token = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const rawToken = (text: string) => Buffer.from(text).toString('base64url');

eachDatabase('query values that reach SQL', (h) => {
  const expect400 = async (url: string) => {
    const res = await h().inject('GET', url, { headers: h().admin.auth });
    assert.equal(res.statusCode, 400, `${url}: ${res.statusCode} ${res.body}`);
    assert.equal(assertV1ErrorBody(res.body).code, 'BadRequest', url);
  };

  it('continue tokens whose position or uid could not come from Keyward are refused with 400', async () => {
    const uid = '0123456789abcdef01234567';
    const bad = [
      token([1, '\u0000']),
      token([1, `${uid}\u0000`]),
      token([1, 'x'.repeat(24)]),
      token([1, uid.toUpperCase()]),
      token([1, `${uid}0`]),
      token([1, '']),
      token([1.5, uid]),
      token([-1, uid]),
      token([1e300, uid]),
      token(['1', uid]),
      token([1, uid, 'extra']),
      token([1]),
      token({ 0: 1, 1: uid }),
      rawToken(`[1,"\ud800"]`),
      Buffer.from([0x5b, 0x31, 0x2c, 0x22, 0xff, 0x22, 0x5d]).toString('base64url'),
      'not base64 at all!',
    ];
    for (const path of ['/v1/apiKeys', '/v1/users', '/v1/audits']) {
      for (const t of bad) await expect400(`${path}?limit=5&continue=${encodeURIComponent(t)}`);
    }
  });

  it('a good continue token still pages', async () => {
    for (let i = 0; i < 3; i++) await h().createKey(h().admin);
    const first = await h().inject('GET', '/v1/apiKeys?limit=2', { headers: h().admin.auth });
    assert.equal(first.statusCode, 200);
    const next = first.json().listmeta.continue;
    assert.ok(next);
    const second = await h().inject('GET', `/v1/apiKeys?limit=2&continue=${next}`, { headers: h().admin.auth });
    assert.equal(second.statusCode, 200, second.body);
    const audits = await h().inject('GET', '/v1/audits?limit=1', { headers: h().admin.auth });
    const more = await h().inject('GET', `/v1/audits?limit=1&continue=${audits.json().listmeta.continue}`, { headers: h().admin.auth });
    assert.equal(more.statusCode, 200, more.body);
  });

  it('userUid and resourceUid filters holding invalid UTF-8 or odd text: 400, never 500', async () => {
    for (const value of ['%FF', '%ED%A0%80', '%C0%80', 'a%FFb', '%E2%80%AE', '%0A']) {
      await expect400(`/v1/apiKeys?userUid=${value}`);
      await expect400(`/v1/apiKeys?limit=5&userUid=${value}`);
      await expect400(`/v1/audits?resourceUid=${value}`);
    }
  });

  it('offset that is not a start index: 400', async () => {
    for (const value of ['%FF', '-1', '1e3', '0x10', '1.5']) {
      await expect400(`/v1/apiKeys?offset=${value}`);
      await expect400(`/v1/users?offset=${value}`);
    }
  });
});
