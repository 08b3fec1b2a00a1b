import { limits } from '../../domain/limits.js';
import { errorResponses, security } from '../schemas.js';

const tags = ['scopes'];
const str = { type: 'string' } as const;

const v1Scope = {
  type: 'object',
  properties: { name: str, description: str, builtIn: { type: 'boolean' } },
} as const;

/**
 * A scope name in the path: `orders:read` raw or percent-encoded (`orders%3Aread`); the router
 * decodes it once. The name's own rules (domain/scopes.ts) are checked by the service, which
 * says what is wrong with a name; this bound only keeps a hostile path cheap.
 */
const nameParams = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', maxLength: limits.scope.name.maxLength * 3 } },
} as const;

export const listScopes = {
  tags,
  security,
  summary: "The scopes keys may hold: Keyward's built-in ones first, then the tenant's own",
  response: { 200: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: v1Scope } } }, ...errorResponses },
} as const;

export const putScope = {
  tags,
  security,
  summary: "Create one of the tenant's scopes, or change its description (tenant admins; an API key needs *)",
  description:
    'The name is `resource:action` (letters, digits, `_`, `.` and `-`), percent-encoded or not; built-in names and the resources of ' +
    "Keyward's own scopes (apiKeys, users, audits, keys) are reserved. 201 when created, 200 when it existed.",
  params: nameParams,
  body: { type: 'object', properties: { description: { type: 'string', ...limits.scope.description } } },
  response: { 200: v1Scope, 201: v1Scope, ...errorResponses },
} as const;

export const deleteScope = {
  tags,
  security,
  summary: "Delete one of the tenant's scopes (tenant admins; an API key needs *): 409 while any key of the tenant holds it",
  params: nameParams,
  response: { 204: { type: 'null' }, ...errorResponses },
} as const;
