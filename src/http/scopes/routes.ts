/** The scope catalogue: GET /v1/scopes, PUT and DELETE /v1/scopes/{name} (see service/scopes.ts). */
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../service/services.js';
import { context } from '../credentials.js';
import * as s from './schemas.js';

export async function scopeRoutes(untyped: FastifyInstance, { services }: { services: Services }) {
  // Request types come from each route's schema.
  const app = untyped.withTypeProvider<JsonSchemaToTsProvider>();
  const { scopes } = services;
  const onRequest = app.authenticate;
  // Reading the catalogue needs no scope (a key's holder may learn what its scopes mean); changing
  // it is tenant security policy, which only a full-power key may touch.
  const POLICY = { scope: '*' };

  app.get('/v1/scopes', { schema: s.listScopes, onRequest, config: { scope: null } }, async (request) => ({ items: await scopes.list(context(request)) }));

  app.put('/v1/scopes/:name', { schema: s.putScope, onRequest, config: POLICY }, async (request, reply) => {
    const { scope, created } = await scopes.put(context(request), request.params.name, { description: request.body?.description });
    return reply.code(created ? 201 : 200).send({ ...scope });
  });

  app.delete('/v1/scopes/:name', { schema: s.deleteScope, onRequest, config: POLICY }, async (request, reply) => {
    await scopes.delete(context(request), request.params.name);
    return reply.code(204).send(null);
  });
}
