import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyInstance } from 'fastify';
import { toRfc3339 } from '../../domain/expiry.js';
import type { Services } from '../../service/services.js';
import { context } from '../credentials.js';
import { errorResponses, listmeta, pagingQuery, parseLimit, security, time, uidFilter } from '../schemas.js';

const str = { type: 'string' } as const;
const nullableStr = { type: ['string', 'null'] } as const;

const v1Audit = {
  type: 'object',
  properties: {
    metadata: { type: 'object', properties: { uid: str, creationTimestamp: time } },
    spec: {
      type: 'object',
      properties: {
        action: str,
        actor: { type: 'object', properties: { userUid: nullableStr, emailId: nullableStr, apiKeyUid: nullableStr } },
        resource: { type: 'object', properties: { kind: str, uid: nullableStr, name: nullableStr, ownerUid: nullableStr } },
        address: nullableStr,
        details: { type: 'object', additionalProperties: true },
      },
    },
  },
} as const;

export async function auditRoutes(untyped: FastifyInstance, { services }: { services: Services }) {
  // Request types come from the route's schema.
  const app = untyped.withTypeProvider<JsonSchemaToTsProvider>();
  app.get(
    '/v1/audits',
    {
      onRequest: app.authenticate,
      config: { scope: 'audits:read' },
      schema: {
        tags: ['audits'],
        security,
        summary: 'The audit log, newest first: the tenant\'s for tenant admins, a user\'s own for anyone else',
        querystring: pagingQuery({ resourceUid: uidFilter('Only the entries about this resource (a key, a user or a tenant)') }),
        response: { 200: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: v1Audit }, listmeta } }, ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      const limit = parseLimit(q.limit, 100, 1000);
      const page = await services.audits.list(context(request), { resourceUid: q.resourceUid, limit, continue: q.continue });
      return {
        listmeta: { continue: page.continue, count: page.count, limit, offset: 0 },
        items: page.items.map((e) => ({
          metadata: { uid: e.uid, creationTimestamp: toRfc3339(e.at) },
          spec: {
            action: e.action,
            actor: { userUid: e.actor.userUid, emailId: e.actor.email, apiKeyUid: e.actor.apiKeyUid },
            resource: e.resource,
            address: e.address,
            details: e.details,
          },
        })),
      };
    },
  );
}
