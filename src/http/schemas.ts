/**
 * JSON schemas shared by the routes. Response schemas are declared on every route: Fastify
 * serialises with them, so a field not listed here can never leak into a response.
 */
import { errorCodes } from '../domain/errors.js';
import { limits } from '../domain/limits.js';

export const time = { type: 'string', format: 'date-time' } as const;
const str = { type: 'string' } as const;

export const v1Error = {
  type: 'object',
  properties: { code: { type: 'string', enum: Object.keys(errorCodes) }, message: str, ref: str, details: { type: 'object', additionalProperties: true } },
} as const;

/** Error responses every authenticated route can give, for the OpenAPI document. */
export const errorResponses = {
  400: v1Error,
  401: v1Error,
  403: v1Error,
  404: v1Error,
  409: v1Error,
  429: v1Error,
} as const;

export const uidParams = {
  type: 'object',
  required: ['uid'],
  properties: { uid: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' } },
} as const;

/**
 * A uid given as a filter in a query string (`userUid`, `resourceUid`): the shape of a path uid.
 * Anything else, such as an escape that is not UTF-8 (left as `%FF` by the parser), cannot match
 * a stored uid and is refused rather than quietly matching nothing.
 */
export const uidFilter = (description: string) => ({ type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$', description }) as const;

export const listmeta = {
  type: 'object',
  properties: { continue: str, count: { type: 'integer' }, limit: { type: 'integer' }, offset: { type: 'integer' } },
} as const;

/** `limit` and `continue`, as Palette's lists take them. Query strings are not coerced, so limit is a digit string. */
export function pagingQuery<const Extra extends Record<string, object>>(extra: Extra) {
  return {
    type: 'object',
    properties: {
      limit: { type: 'string', pattern: '^[0-9]{1,6}$' },
      continue: { type: 'string', maxLength: 512 },
      ...extra,
    },
  } as const;
}

export function parseLimit(raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  return Math.min(Math.max(Number(raw), 1), max);
}

/** Palette's `offset`, for lists that take it beside `continue`: the index of the first row wanted. */
export const offsetQuery = {
  offset: { type: 'string', pattern: '^[0-9]{1,9}$', description: 'Index of the first item wanted; `continue` wins when both are sent' },
} as const;

/**
 * Palette's `orderBy` (`field=1` ascending, `field=-1` descending), for the one order keys and
 * users are kept in: creation time, ties broken by uid. Without it a list runs oldest first,
 * as it always has; the console asks for newest first.
 */
export const orderByQuery = {
  orderBy: {
    type: 'string',
    enum: ['metadata.creationTimestamp', 'metadata.creationTimestamp=1', 'metadata.creationTimestamp=-1'],
    description:
      "Palette's orderBy: `metadata.creationTimestamp=-1` lists newest first, `metadata.creationTimestamp=1` (the default) oldest first. " +
      'A `continue` token answers only a request with the same order.',
  },
} as const;

export const parseOrder = (orderBy: string | undefined) => (orderBy === 'metadata.creationTimestamp=-1' ? ('desc' as const) : ('asc' as const));

export interface PagingParams {
  limit?: string;
  continue?: string;
  offset?: string;
  orderBy?: string;
}

/**
 * `limit`, `continue` and `offset` of a list that takes all three. `limit=0` asks for every row
 * from the start position (Palette's Go SDK sends it and reads one answer); an absent limit
 * means `fallback`. `listmetaLimit` is what the answer reports: the page size, or 0 for all.
 */
export function parsePaging(q: PagingParams, fallback: number | 'all', max: number) {
  const limit: number | 'all' = q.limit === undefined ? fallback : Number(q.limit) === 0 ? 'all' : Math.min(Number(q.limit), max);
  return {
    limit,
    continue: q.continue,
    offset: q.offset === undefined ? undefined : Number(q.offset),
    order: parseOrder(q.orderBy),
    listmetaLimit: limit === 'all' ? 0 : limit,
  };
}

/** A key's scopes as a request gives them (see domain/scopes.ts for the names). */
export const scopesIn = {
  type: 'array',
  ...limits.apiKey.scopes,
  items: { type: 'string', ...limits.scope.name },
  description:
    'Scope names: `*` (the owner\'s full power), `resource:action` or `resource:*`; built-in ones and the tenant\'s (GET /v1/scopes). ' +
    'What the key may do is its owner\'s role intersected with these.',
} as const;

/** A key's allowed addresses as a request gives them. */
export const allowedCidrsIn = {
  type: 'array',
  ...limits.apiKey.allowedCidrs,
  items: { type: 'string', ...limits.apiKey.cidr },
  description: 'IPv4 or IPv6 networks (`203.0.113.0/24`, `2001:db8::/32`; a bare address is one host) the key may be used from; empty: any address.',
} as const;

export const v1ApiKey = {
  type: 'object',
  properties: {
    metadata: {
      type: 'object',
      properties: {
        uid: str,
        name: str,
        annotations: { type: 'object', properties: { description: str } },
        creationTimestamp: time,
        lastModifiedTimestamp: time,
      },
    },
    spec: {
      type: 'object',
      properties: {
        expiry: time,
        user: { type: 'object', properties: { uid: str, firstName: str, lastName: str, emailId: str } },
        // Beyond Palette (its clients ignore them): what the key may do, and from where.
        scopes: { type: 'array', items: str },
        allowedCidrs: { type: 'array', items: str },
      },
    },
    status: {
      type: 'object',
      properties: {
        isActive: { type: 'boolean' },
        isExpired: { type: 'boolean' },
        lastUsedTimestamp: time,
        revokedTimestamp: time,
        revokedBy: str,
        revokedByAdmin: { type: 'boolean' },
        keyPrefix: str,
      },
    },
  },
} as const;

export const v1User = {
  type: 'object',
  properties: {
    metadata: {
      type: 'object',
      properties: { uid: str, name: str, creationTimestamp: time, lastModifiedTimestamp: time },
    },
    spec: {
      type: 'object',
      properties: { emailId: str, firstName: str, lastName: str, roles: { type: 'array', items: str }, kind: { type: 'string', enum: ['person', 'service'] } },
    },
    status: { type: 'object', properties: { isActive: { type: 'boolean' }, lastSignIn: time } },
  },
} as const;

/**
 * A password being set. The schema's bound lies past the policy's maximum, so that the policy
 * (domain/passwordPolicy.ts) refuses with its own message naming the rule; the bound only keeps a
 * hostile body from costing a long hash. The description states the policy, for /docs.
 */
export const newPassword = {
  type: 'string',
  maxLength: 4 * limits.password.maxLength,
  description: `${limits.password.minLength} to ${limits.password.maxLength} characters; neither the email address nor containing its name part (before the @).`,
} as const;

/** Either credential is accepted, as Palette's spec declares. */
export const security: { [scheme: string]: string[] }[] = [{ ApiKey: [] }, { Authorization: [] }];
