/** Which credential a request presents: an empty ApiKey is none, and does not hide a valid token. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { eachDatabase } from './helpers/harness.js';

eachDatabase('presented credentials', (h) => {
  const info = (headers: Record<string, string>, url = '/v1/users/info') => h().app.inject({ method: 'GET', url, headers });

  it('an empty ApiKey header (or ?ApiKey=) next to a valid token is ignored: the token authenticates', async () => {
    const user = await h().createUser();
    for (const [apiKey, url] of [['', '/v1/users/info'], ['   ', '/v1/users/info'], [undefined, '/v1/users/info?ApiKey='], [undefined, '/v1/users/info?apikey=%20']] as const) {
      const headers: Record<string, string> = { Authorization: `Bearer ${user.token}` };
      if (apiKey !== undefined) headers.ApiKey = apiKey;
      const res = await info(headers, url);
      assert.equal(res.statusCode, 200, `ApiKey ${JSON.stringify(apiKey)} at ${url}: ${res.body}`);
      assert.equal(res.json().userUid, user.uid);
    }
    const raw = await info({ ApiKey: '', Authorization: user.token });
    assert.equal(raw.statusCode, 200, 'with a raw token too');
  });

  it('an empty ApiKey header alone is still refused, and a non-empty wrong key is not rescued by a token', async () => {
    const user = await h().createUser();
    const alone = await info({ ApiKey: '' });
    assert.equal(alone.statusCode, 401);
    assert.equal(alone.json().code, 'Unauthorized');
    assert.equal((await info({ ApiKey: 'kw_wrong', Authorization: user.token })).statusCode, 401);
    assert.equal((await info({ ApiKey: '' }, '/v1/auth/check')).statusCode, 401, 'the forward-auth check wants a key');
  });
});
