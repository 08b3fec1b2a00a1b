/** Readiness follows the database: 200 while it answers, 503 with a v1Error body once it does not. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildApp } from '../src/http/app.js';
import { createServices } from '../src/service/services.js';
import { Store } from '../src/store/store.js';
import { databases } from './helpers/databases.js';
import { assertV1ErrorBody } from './helpers/palette.js';

for (const factory of databases()) {
  describe(`readiness [${factory.name}]`, () => {
    it('answers 503 ServiceUnavailable when the database is gone, while /healthz stays 200', async () => {
      const db = await factory.create();
      const store = await Store.open(db.url);
      const app = await buildApp({ services: createServices(store, { secret: 'health-test-secret-0123' }) });
      try {
        assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
        await store.close();
        const res = await app.inject({ method: 'GET', url: '/readyz' });
        assert.equal(res.statusCode, 503);
        assertV1ErrorBody(res.body, 'readyz');
        assert.equal(res.json().code, 'ServiceUnavailable');
        assert.match(res.json().message, /database/);
        assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
      } finally {
        await app.close();
        await db.drop();
      }
    });
  });
}
