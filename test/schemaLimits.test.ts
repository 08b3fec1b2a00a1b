/**
 * The field limits of src/domain/limits.ts are the API's: the OpenAPI document (what /docs shows)
 * states them, the schemas refuse past them in the services' words, and every error code the
 * document offers is one of the registry's.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { errorCodes } from '../src/domain/errors.js';
import { limits } from '../src/domain/limits.js';
import { eachDatabase } from './helpers/harness.js';
import { assertV1ErrorBody } from './helpers/palette.js';

eachDatabase('field limits', (h) => {
  async function openapi() {
    const res = await h().inject('GET', '/v1/openapi.json');
    assert.equal(res.statusCode, 200);
    return res.json();
  }
  const bodyOf = (doc: any, path: string, method: string) => doc.paths[path][method].requestBody.content['application/json'].schema;
  /** The JSON Schema keywords of `schema` that a limit names, to compare with the limit. */
  const keywordsOf = (schema: any, limit: object) => Object.fromEntries(Object.keys(limit).map((k) => [k, schema[k]]));

  it('the OpenAPI document states the limits of the module', async () => {
    const doc = await openapi();
    for (const [path, method] of [
      ['/v1/apiKeys', 'post'],
      ['/v1/apiKeys/{uid}', 'put'],
    ]) {
      const metadata = bodyOf(doc, path, method).properties.metadata;
      assert.deepEqual(keywordsOf(metadata.properties.name, limits.apiKey.name), limits.apiKey.name, `${method} ${path} metadata.name`);
      const description = metadata.properties.annotations.properties.description;
      assert.deepEqual(keywordsOf(description, limits.apiKey.description), limits.apiKey.description, `${method} ${path} description`);
    }
    for (const [path, method] of [
      ['/v1/users', 'post'],
      ['/v1/users/{uid}', 'put'],
    ]) {
      const spec = bodyOf(doc, path, method).properties.spec.properties;
      assert.deepEqual(keywordsOf(spec.emailId, limits.user.email), limits.user.email, `${method} ${path} spec.emailId`);
      for (const name of ['firstName', 'lastName']) assert.deepEqual(keywordsOf(spec[name], limits.user.name), limits.user.name, `${method} ${path} spec.${name}`);
      assert.deepEqual(keywordsOf(spec.roles, limits.user.roles), limits.user.roles, `${method} ${path} spec.roles`);
      assert.deepEqual(keywordsOf(spec.roles.items, limits.user.role), limits.user.role, `${method} ${path} spec.roles items`);
    }
    // A password's schema bound lies past the policy (the policy's own message names its rule);
    // the policy itself is stated where a person reads it.
    const policy = new RegExp(`^${limits.password.minLength} to ${limits.password.maxLength} characters`);
    assert.match(bodyOf(doc, '/v1/users', 'post').properties.spec.properties.password.description, policy);
    assert.match(bodyOf(doc, '/v1/users/password/change', 'patch').properties.newPassword.description, policy);
    assert.match(bodyOf(doc, '/v1/users/{uid}/password/reset', 'patch').properties.newPassword.description, policy);
    assert.equal(bodyOf(doc, '/v1/auth/authenticate', 'post').properties.password.maxLength, limits.password.maxLength);
  });

  it('the error codes the document offers are exactly the registry\'s', async () => {
    const doc = await openapi();
    const error = doc.paths['/v1/apiKeys'].post.responses['400'].content['application/json'].schema;
    assert.deepEqual(error.properties.code.enum, Object.keys(errorCodes));
  });

  it('past a limit: 400 in the services\' words, and nothing changes', async () => {
    const user = await h().createUser();
    const key = await h().createKey(user);
    const { maxLength } = limits.apiKey.name;
    const refused = async (res: { statusCode: number; body: string }, message: string, field?: string) => {
      assert.equal(res.statusCode, 400, res.body);
      const body = assertV1ErrorBody(res.body);
      assert.equal(body.code, 'BadRequest');
      assert.ok(body.message.includes(message), `${body.message} says ${message}`);
      if (field) assert.equal(body.details?.field, field);
    };
    const range = `metadata.name must be ${limits.apiKey.name.minLength} to ${maxLength} characters long.`;
    const long = 'n'.repeat(maxLength + 1);
    await refused(await h().inject('POST', '/v1/apiKeys', { headers: user.auth, body: { metadata: { name: long }, spec: { expiry: h().expiryIn(3) } } }), range, 'metadata.name');
    await refused(await h().inject('PUT', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { metadata: { name: long } } }), range, 'metadata.name');
    for (const name of ['', '   ']) {
      await refused(await h().inject('PUT', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { metadata: { name } } }), 'metadata.name is required.', 'metadata.name');
    }
    const description = 'd'.repeat(limits.apiKey.description.maxLength + 1);
    await refused(
      await h().inject('PUT', `/v1/apiKeys/${key.uid}`, { headers: user.auth, body: { metadata: { annotations: { description } } } }),
      `metadata.annotations.description must be at most ${limits.apiKey.description.maxLength} characters long.`,
      'metadata.annotations.description',
    );
    const email = () => `limits-${Math.random().toString(36).slice(2)}@example.com`;
    await refused(
      await h().inject('POST', '/v1/users', { headers: h().admin.auth, body: { spec: { emailId: email(), firstName: 'f'.repeat(limits.user.name.maxLength + 1) } } }),
      `spec.firstName must be at most ${limits.user.name.maxLength} characters long.`,
      'spec.firstName',
    );
    await refused(
      await h().inject('POST', '/v1/users', { headers: h().admin.auth, body: { spec: { emailId: email(), roles: Array(limits.user.roles.maxItems + 1).fill('r') } } }),
      `must NOT have more than ${limits.user.roles.maxItems} items`,
    );
    // The services, reached without a schema (the CLI, first start), refuse in the same words.
    await assert.rejects(h().services.users.createTenant({ name: 't'.repeat(limits.tenant.name.maxLength + 1), adminEmail: email() }), {
      message: `name must be ${limits.tenant.name.minLength} to ${limits.tenant.name.maxLength} characters long.`,
    });
    const got = await h().inject('GET', `/v1/apiKeys/${key.uid}`, { headers: user.auth });
    assert.equal(got.json().metadata.name, key.name, 'nothing was renamed');
    // At the limit, it is taken: a name of exactly the maximum, counted in characters (emoji too).
    const longest = '🔑'.repeat(maxLength);
    const created = await h().inject('POST', '/v1/apiKeys', { headers: user.auth, body: { metadata: { name: longest }, spec: { expiry: h().expiryIn(3) } } });
    assert.equal(created.statusCode, 201, created.body);
  });
});
