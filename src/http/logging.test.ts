import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactUrl } from './logging.js';

describe('log redaction of URLs', () => {
  it('masks ?ApiKey= in any case and the refresh token, and nothing else', () => {
    assert.equal(redactUrl('/v1/users/info?ApiKey=kw_secret&x=1'), '/v1/users/info?ApiKey=[REDACTED]&x=1');
    assert.equal(redactUrl('/v1/users/info?a=1&apikey=kw_secret'), '/v1/users/info?a=1&apikey=[REDACTED]');
    assert.equal(redactUrl('/v1/users/info?API%4Bey=kw_secret'), '/v1/users/info?API%4Bey=[REDACTED]');
    assert.equal(redactUrl('/v1/auth/refresh/eyJ.abc.def'), '/v1/auth/refresh/[REDACTED]');
    assert.equal(redactUrl('/v1/apiKeys?limit=5'), '/v1/apiKeys?limit=5');
  });
});
