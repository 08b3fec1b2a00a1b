import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyInstance } from 'fastify';
import { badRequest } from '../../domain/errors.js';
import { toRfc3339 } from '../../domain/expiry.js';
import { limits } from '../../domain/limits.js';
import { type User, USER_KINDS } from '../../domain/model.js';
import type { UserUpdate } from '../../domain/userEdits.js';
import type { Services } from '../../service/services.js';
import { context } from '../credentials.js';
import { streamList } from '../streamList.js';
import { errorResponses, listmeta, newPassword, offsetQuery, orderByQuery, pagingQuery, parsePaging, security, uidParams, v1User } from '../schemas.js';

const tags = ['users'];
const str = { type: 'string' } as const;
const email = { type: 'string', ...limits.user.email } as const;
const personName = { type: 'string', ...limits.user.name } as const;
const roles = { type: 'array', ...limits.user.roles, items: { type: 'string', ...limits.user.role } } as const;
const kind = {
  type: 'string',
  enum: USER_KINDS,
  description: '`person` (the default) signs in with a password; `service` is a service account: no password, never signs in, owns keys a tenant admin makes for it',
} as const;

export function presentUser(u: User) {
  const fullName = `${u.firstName} ${u.lastName}`.trim();
  return {
    metadata: {
      uid: u.uid,
      name: fullName || u.email,
      creationTimestamp: toRfc3339(u.createdAt),
      lastModifiedTimestamp: toRfc3339(u.updatedAt),
    },
    spec: { emailId: u.email, firstName: u.firstName, lastName: u.lastName, roles: u.roles, kind: u.kind },
    status: { isActive: true, lastSignIn: u.lastSignInAt === null ? undefined : toRfc3339(u.lastSignInAt) },
  };
}

/** Beyond Palette: what the console's user pickers send as a person types. */
const userSearch = {
  type: 'string',
  maxLength: 128,
  description: 'Part of an email address, first name, last name or "first last" name, in any case (ASCII letters on SQLite); `%` and `_` are plain text',
} as const;

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
          emailId: email,
          firstName: personName,
          lastName: personName,
          roles,
          password: { ...newPassword, description: `${newPassword.description} Not for a service account.` },
          kind,
        },
      },
    },
  },
  response: { 201: { type: 'object', required: ['uid'], properties: { uid: str } }, ...errorResponses },
} as const;

const updateUser = {
  tags,
  security,
  summary: "Update a user (Palette's v1UserUpdateEntity): tenant admins any user of the tenant, a user their own first and last name",
  description: 'Fields left out stay as they are. `metadata.name` sets the first and last names when `spec` gives neither.',
  params: uidParams,
  body: {
    type: 'object',
    properties: {
      metadata: { type: 'object', properties: { name: str } },
      spec: {
        type: 'object',
        properties: { emailId: email, firstName: personName, lastName: personName, roles, kind: { ...kind, description: 'Must be the user\'s own: a kind never changes' } },
      },
    },
  },
  response: { 204: { type: 'null' }, ...errorResponses },
} as const;

const patchUser = {
  tags,
  security,
  summary: "Change a user with a JSON Patch (Palette's v1UserPatch; tenant admins)",
  description:
    'add, replace or remove on /spec/firstName, /spec/lastName, /spec/roles and /metadata/name; add or replace on /spec/emailId; ' +
    'add on /spec/roles/- ; add, replace or remove on /spec/roles/<index>. Applied in order, all or nothing.',
  params: uidParams,
  body: {
    type: 'array',
    minItems: 1,
    maxItems: 100,
    items: {
      type: 'object',
      required: ['op', 'path'],
      properties: { op: { type: 'string', maxLength: 16 }, path: { type: 'string', maxLength: 256 }, value: {}, from: { type: 'string', maxLength: 256 } },
    },
  },
  response: { 204: { type: 'null' }, ...errorResponses },
} as const;

export async function userRoutes(untyped: FastifyInstance, { services }: { services: Services }) {
  // Request types come from each route's schema.
  const app = untyped.withTypeProvider<JsonSchemaToTsProvider>();
  const { users, tenantNames } = services;
  const onRequest = app.authenticate;
  // The scope an API key needs (design-11).
  const READ = { scope: 'users:read' };
  const WRITE = { scope: 'users:write' };

  app.get(
    '/v1/users/info',
    {
      onRequest,
      // Any key may ask whose it is: it is how clients check a key works.
      config: { scope: null },
      schema: {
        tags,
        security,
        summary: 'Who the caller is',
        response: { 200: { type: 'object', properties: { orgName: str, tenantUid: str, userUid: str } }, ...errorResponses },
      },
    },
    // Not async: what API clients call to check their key, answered without a promise when the
    // tenant's name is known (Fastify sends a plain value returned by a handler as it sends a resolved one).
    (request) => {
      const { tenantUid, userUid } = context(request).actor;
      const name = tenantNames.of(tenantUid);
      if (typeof name === 'string') return { orgName: name, tenantUid, userUid };
      return name.then((orgName) => ({ orgName, tenantUid, userUid }));
    },
  );

  app.get(
    '/v1/users',
    {
      onRequest,
      config: READ,
      schema: {
        tags,
        security,
        summary: 'List the users of the tenant (tenant admins)',
        description:
          '`limit` (at most 1000, default 1000; 0 means every user, as Palette\'s Go SDK asks), `offset` (start index) and `continue`; ' +
          '`continue` wins over `offset`, and `listmeta.offset` is the index of the next page. ' +
          '`orderBy=metadata.creationTimestamp=-1` lists newest first, paged and counted the same way. ' +
          '`search` keeps the users whose email or "first last" name contains the text, in any case; `listmeta.count` counts them.',
        querystring: pagingQuery({ ...offsetQuery, ...orderByQuery, search: userSearch }),
        response: { 200: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: v1User }, listmeta } }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const paging = parsePaging(request.query, 1000, 1000);
      const query = { ...paging, search: request.query.search };
      if (paging.limit === 'all') return streamList(reply, await users.stream(context(request), query), v1User, presentUser);
      const page = await users.list(context(request), query);
      return {
        items: page.items.map(presentUser),
        listmeta: { continue: page.continue, count: page.count, limit: paging.listmetaLimit, offset: page.offset },
      };
    },
  );

  app.post('/v1/users', { onRequest, config: WRITE, schema: createUser }, async (request, reply) => {
    const { metadata, spec } = request.body;
    // Palette puts a display name in metadata.name; use it when first and last names are absent.
    const [first, ...rest] = (metadata?.name ?? '').trim().split(/\s+/);
    const created = await users.create(context(request), {
      email: spec.emailId,
      firstName: spec.firstName ?? first ?? '',
      lastName: spec.lastName ?? rest.join(' '),
      roles: spec.roles,
      password: spec.password,
      kind: spec.kind,
    });
    return reply.code(201).send(created);
  });

  app.get(
    '/v1/users/:uid',
    { onRequest, config: READ, schema: { tags, security, summary: 'Get a user (tenant admins, or that user)', params: uidParams, response: { 200: v1User, ...errorResponses } } },
    async (request) => presentUser(await users.get(context(request), request.params.uid)),
  );

  app.put('/v1/users/:uid', { onRequest, config: WRITE, schema: updateUser }, async (request, reply) => {
    const body = request.body;
    const update: UserUpdate = {
      email: body?.spec?.emailId,
      firstName: body?.spec?.firstName,
      lastName: body?.spec?.lastName,
      roles: body?.spec?.roles,
      name: body?.metadata?.name,
      kind: body?.spec?.kind,
    };
    if (Object.values(update).every((v) => v === undefined)) {
      throw badRequest('Nothing to update: send spec.emailId, spec.firstName, spec.lastName, spec.roles or metadata.name.');
    }
    await users.update(context(request), request.params.uid, update);
    return reply.code(204).send(null);
  });

  app.patch('/v1/users/:uid', { onRequest, config: WRITE, schema: patchUser }, async (request, reply) => {
    if (!Array.isArray(request.body)) throw badRequest('Send a JSON Patch: an array of {op, path, value} operations.');
    await users.patch(context(request), request.params.uid, request.body);
    return reply.code(204).send(null);
  });

  app.delete(
    '/v1/users/:uid',
    {
      onRequest,
      config: WRITE,
      schema: { tags, security, summary: 'Delete a user and their API keys (tenant admins)', params: uidParams, response: { 204: { type: 'null' }, ...errorResponses } },
    },
    async (request, reply) => {
      await users.delete(context(request), request.params.uid);
      return reply.code(204).send(null);
    },
  );
}
