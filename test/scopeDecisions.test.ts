/**
 * Every authenticated route has a deliberate scope decision (design-11's table): the scope an API
 * key needs for it, or none. A new route that authenticates must be added here, with its scope,
 * or this test fails; a route without any decision does not even start (credentials.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { buildApp } from '../src/http/app.js';
import { credentials } from '../src/http/credentials.js';
import { createServices } from '../src/service/services.js';
import { Store } from '../src/store/store.js';
import { createSqlite } from './helpers/databases.js';
import { SECRET } from './helpers/harness.js';

/** design-11: "Which scope each Keyward endpoint needs". null: none. */
const DECISIONS: Record<string, string | null> = {
  'GET /v1/users/info': null,
  'GET /v1/scopes': null,
  'GET /v1/apiKeys': 'apiKeys:read',
  'GET /v1/apiKeys/:uid': 'apiKeys:read',
  'POST /v1/apiKeys': 'apiKeys:write',
  'PUT /v1/apiKeys/:uid': 'apiKeys:write',
  'PATCH /v1/apiKeys/:uid': 'apiKeys:write',
  'PUT /v1/apiKeys/:uid/state': 'apiKeys:write',
  'DELETE /v1/apiKeys/:uid': 'apiKeys:write',
  'POST /v1/apiKeys/verify': 'keys:verify',
  'GET /v1/users': 'users:read',
  'GET /v1/users/:uid': 'users:read',
  'POST /v1/users': 'users:write',
  'PUT /v1/users/:uid': 'users:write',
  'PATCH /v1/users/:uid': 'users:write',
  'DELETE /v1/users/:uid': 'users:write',
  'PATCH /v1/users/:uid/password/reset': 'users:write',
  'GET /v1/audits': 'audits:read',
  'PUT /v1/scopes/:name': '*',
  'DELETE /v1/scopes/:name': '*',
};

describe('scope decisions', () => {
  it('every authenticated route of the app has the scope design-11 gives it, and no route is left without a decision', async () => {
    const db = await createSqlite();
    const store = await Store.open(db.url);
    const services = createServices(store, { secret: SECRET });
    const app = await buildApp({ services });
    try {
      await app.ready();
      // HEAD routes Fastify adds for GETs carry the GET's hooks and decision.
      const registered = Object.fromEntries([...app.routeScopes].filter(([route]) => !route.startsWith('HEAD ')));
      assert.deepEqual(registered, DECISIONS);
      for (const [route, scope] of app.routeScopes) {
        if (route.startsWith('HEAD ')) assert.equal(scope, DECISIONS[route.replace(/^HEAD/, 'GET')], route);
      }
    } finally {
      await app.close();
      await store.close();
      await db.drop();
    }
  });

  it('an authenticated route that says nothing about scopes is refused when it is registered', async () => {
    const db = await createSqlite();
    const store = await Store.open(db.url);
    const services = createServices(store, { secret: SECRET });
    const app = Fastify();
    try {
      await app.register(credentials, { services });
      await assert.rejects(async () => {
        await app.register(async (child) => {
          child.get('/v1/forgotten', { onRequest: child.authenticate }, async () => ({}));
        });
        await app.ready();
      }, /GET \/v1\/forgotten: an authenticated route must say which scope/);
    } finally {
      await app.close().catch(() => {});
      await store.close();
      await db.drop();
    }
  });
});
