import type { FastifyInstance } from 'fastify';
import { toRfc3339 } from '../../domain/expiry.js';
import type { User } from '../../domain/model.js';
import type { Services } from '../../service/services.js';
import { context } from '../credentials.js';
import { errorResponses, listmeta, pagingQuery, parseLimit, security, uidParams, v1User } from '../schemas.js';

const tags = ['users'];
const str = { type: 'string' } as const;

export function presentUser(u: User) {
  const fullName = `${u.firstName} ${u.lastName}`.trim();
  return {
    metadata: {
      uid: u.uid,
      name: fullName || u.email,
      creationTimestamp: toRfc3339(u.createdAt),
      lastModifiedTimestamp: toRfc3339(u.updatedAt),
    },
    spec: { emailId: u.email, firstName: u.firstName, lastName: u.lastName, roles: u.roles },
    status: { isActive: true, lastSignIn: u.lastSignInAt === null ? undefined : toRfc3339(u.lastSignInAt) },
  };
}

const createUser = {
  tags,
  security,
  summary: 'Create a user in the tenant (tenant admins)',
  body: {
    type: 'object',
    required: ['spec'],
    properties: {
      metadata: { type: 'object', properties: { name: str } },
      spec: {
        type: 'object',
        required: ['emailId'],
        properties: {
          emailId: str,
          firstName: str,
          lastName: str,
          roles: { type: 'array', maxItems: 32, items: str },
          password: str,
        },
      },
    },
  },
  response: { 201: { type: 'object', required: ['uid'], properties: { uid: str } }, ...errorResponses },
} as const;

export async function userRoutes(app: FastifyInstance, { services }: { services: Services }) {
  const { users, tenantNames } = services;
  const onRequest = app.authenticate;

  app.get(
    '/v1/users/info',
    {
      onRequest,
      schema: {
        tags,
        security,
        summary: 'Who the caller is',
        response: { 200: { type: 'object', properties: { orgName: str, tenantUid: str, userUid: str } }, ...errorResponses },
      },
    },
    async (request) => {
      const { actor } = context(request);
      return { orgName: await tenantNames.of(actor.tenantUid), tenantUid: actor.tenantUid, userUid: actor.userUid };
    },
  );

  app.get(
    '/v1/users',
    {
      onRequest,
      schema: {
        tags,
        security,
        summary: 'List the users of the tenant (tenant admins)',
        querystring: pagingQuery(),
        response: { 200: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: v1User }, listmeta } }, ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query as { limit?: string; continue?: string };
      const limit = parseLimit(q.limit, 1000, 1000);
      const page = await users.list(context(request), { limit, continue: q.continue });
      return { items: page.items.map(presentUser), listmeta: { continue: page.continue, count: page.count, limit, offset: 0 } };
    },
  );

  app.post('/v1/users', { onRequest, schema: createUser }, async (request, reply) => {
    const { metadata, spec } = request.body as {
      metadata?: { name?: string };
      spec: { emailId: string; firstName?: string; lastName?: string; roles?: string[]; password?: string };
    };
    // Palette puts a display name in metadata.name; use it when first and last names are absent.
    const [first, ...rest] = (metadata?.name ?? '').trim().split(/\s+/);
    const created = await users.create(context(request), {
      email: spec.emailId,
      firstName: spec.firstName ?? first ?? '',
      lastName: spec.lastName ?? rest.join(' '),
      roles: spec.roles,
      password: spec.password,
    });
    return reply.code(201).send(created);
  });

  app.get(
    '/v1/users/:uid',
    { onRequest, schema: { tags, security, summary: 'Get a user (tenant admins, or that user)', params: uidParams, response: { 200: v1User, ...errorResponses } } },
    async (request) => presentUser(await users.get(context(request), (request.params as { uid: string }).uid)),
  );

  app.delete(
    '/v1/users/:uid',
    {
      onRequest,
      schema: { tags, security, summary: 'Delete a user and their API keys (tenant admins)', params: uidParams, response: { 204: { type: 'null' }, ...errorResponses } },
    },
    async (request, reply) => {
      await users.delete(context(request), (request.params as { uid: string }).uid);
      return reply.code(204).send();
    },
  );
}
