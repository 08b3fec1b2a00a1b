import { limits } from '../../domain/limits.js';
import { allowedCidrsIn, errorResponses, listmeta, offsetQuery, orderByQuery, pagingQuery, scopesIn, security, time, uidFilter, uidParams, v1ApiKey } from '../schemas.js';

const tags = ['apiKeys'];
const str = { type: 'string' } as const;

const metadataIn = {
  type: 'object',
  properties: {
    name: { type: 'string', ...limits.apiKey.name },
    annotations: { type: 'object', properties: { description: { type: 'string', ...limits.apiKey.description } }, additionalProperties: { type: 'string' } },
  },
} as const;

export const createKey = {
  tags,
  security,
  summary: 'Create an API key',
  body: {
    type: 'object',
    required: ['metadata', 'spec'],
    properties: {
      metadata: { ...metadataIn, required: ['name'] },
      spec: {
        type: 'object',
        required: ['expiry'],
        properties: {
          expiry: str,
          userUid: str,
          scopes: { ...scopesIn, description: `${scopesIn.description} Absent: ["*"].` },
          allowedCidrs: allowedCidrsIn,
        },
      },
    },
  },
  response: {
    201: { type: 'object', properties: { apiKey: str, uid: str } },
    ...errorResponses,
  },
} as const;

export const listKeys = {
  tags,
  security,
  summary: 'List API keys: a tenant admin sees every key of the tenant, anyone else their own',
  description:
    'Without paging parameters the answer holds every visible key (Palette clients read one answer). ' +
    '`limit` (at most 1000; 0 means every key from the start), `offset` (start index) or `continue` page when asked; ' +
    '`continue` wins over `offset`, and `listmeta.offset` is the index of the next page. ' +
    '`orderBy=metadata.creationTimestamp=-1` lists newest first, paged and counted the same way.',
  querystring: pagingQuery({ userUid: uidFilter('Only the keys of this user'), ...offsetQuery, ...orderByQuery }),
  response: {
    200: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: v1ApiKey }, listmeta } },
    ...errorResponses,
  },
} as const;

export const getKey = {
  tags,
  security,
  summary: 'Get an API key',
  params: uidParams,
  response: { 200: v1ApiKey, ...errorResponses },
} as const;

export const updateKey = {
  tags,
  security,
  summary: 'Change the name, description, expiry, scopes or allowed addresses of an API key',
  params: uidParams,
  body: {
    type: 'object',
    description:
      'Set at least one of metadata.name, metadata.annotations.description, spec.expiry, spec.scopes and spec.allowedCidrs; ' +
      'what is left out stays as it is.',
    properties: { metadata: metadataIn, spec: { type: 'object', properties: { expiry: str, scopes: scopesIn, allowedCidrs: allowedCidrsIn } } },
    // A body that changes nothing is a client's mistake, not a successful update.
    anyOf: [
      { required: ['metadata'], properties: { metadata: { type: 'object', required: ['name'] } } },
      {
        required: ['metadata'],
        properties: { metadata: { type: 'object', required: ['annotations'], properties: { annotations: { type: 'object', required: ['description'] } } } },
      },
      { required: ['spec'], properties: { spec: { type: 'object', required: ['expiry'] } } },
      { required: ['spec'], properties: { spec: { type: 'object', required: ['scopes'] } } },
      { required: ['spec'], properties: { spec: { type: 'object', required: ['allowedCidrs'] } } },
    ],
  },
  response: { 204: { type: 'null' }, ...errorResponses },
} as const;

export const setKeyState = {
  tags,
  security,
  summary: 'Revoke ({"isActive": false}, or {}) or re-activate ({"isActive": true}) an API key',
  params: uidParams,
  // `{}` is Palette's Go SDK revoking (it omits a false isActive), so it stays a revoke; an empty
  // body, null, or an object without isActive is a mistake, and must not revoke.
  body: {
    type: 'object',
    description: 'Send {"isActive": false} (or {}) to revoke, {"isActive": true} to re-activate.',
    properties: { isActive: { type: 'boolean' } },
    anyOf: [{ required: ['isActive'] }, { maxProperties: 0 }],
  },
  response: { 204: { type: 'null' }, ...errorResponses },
} as const;

export const deleteKey = {
  tags,
  security,
  summary: 'Delete an API key',
  params: uidParams,
  response: { 204: { type: 'null' }, ...errorResponses },
} as const;

export const verifyKey = {
  tags,
  security,
  summary: 'Verify an API key presented to another service (tenant admins, or keys of tenant admins holding keys:verify)',
  description:
    'Checks, in order: that the key exists in your tenant, is active and unexpired; that `clientAddress` is inside its allowed addresses ' +
    '(a key with allowed addresses and no `clientAddress` is refused: ADDRESS_NOT_ALLOWED); that it meets `require`. ' +
    '`scopes` (the key\'s) is given whenever the key was found; `missing` with INSUFFICIENT_SCOPE.',
  body: {
    type: 'object',
    required: ['key'],
    properties: {
      key: { type: 'string', maxLength: 1024 },
      require: {
        type: 'string',
        ...limits.requirement,
        description: 'Scope names joined by AND and OR (AND binds tighter), with parentheses: `orders:read AND (orders:write OR *)`.',
      },
      clientAddress: { type: 'string', maxLength: 64, description: 'The IPv4 or IPv6 address the key was presented from, for its allowed addresses.' },
    },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        valid: { type: 'boolean' },
        code: { type: 'string', enum: ['VALID', 'NOT_FOUND', 'INACTIVE', 'EXPIRED', 'ADDRESS_NOT_ALLOWED', 'INSUFFICIENT_SCOPE'] },
        keyUid: str,
        userUid: str,
        tenantUid: str,
        expiry: time,
        scopes: { type: 'array', items: str },
        missing: { type: 'array', items: str },
      },
    },
    ...errorResponses,
  },
} as const;
