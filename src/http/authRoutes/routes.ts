/**
 * `GET` and `PUT /v1/authRoutes`: the tenant's forward-auth route rules (tenant admins). An API
 * key needs `*` for either: a narrowed key can neither read nor change the tenant's security policy.
 */
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyInstance } from 'fastify';
import { limits } from '../../domain/limits.js';
import type { Services } from '../../service/services.js';
import { context } from '../credentials.js';
import { errorResponses, security } from '../schemas.js';

const tags = ['authRoutes'];
/**
 * The rules' own body limit: the application's 64 KB would hold only a few hundred rules. 2,000
 * rules of a realistic size (a path and an expression of a few dozen characters each) are about
 * 200 KB; a megabyte leaves room for long ones and still keeps a hostile body cheap to refuse.
 */
const RULES_BODY_LIMIT = 1024 * 1024;
const TENANT_POLICY = { scope: '*' } as const;

const mode = { type: 'string', enum: ['enforce', 'audit'], description: '`enforce` refuses what the rules refuse; `audit` logs and audits it, and lets it through' } as const;
const fallback = { type: 'string', enum: ['allow', 'deny'], description: 'What happens to a request no rule matches' } as const;

/** One rule as a request sends it; routeRulesProblem (domain/routeRules.ts) checks what a schema cannot. */
const ruleIn = {
  type: 'object',
  required: ['methods', 'path'],
  // A misspelt field ("requires") must not quietly become a rule that asks for nothing.
  additionalProperties: false,
  properties: {
    methods: {
      type: 'array',
      ...limits.authRoutes.methods,
      items: { type: 'string', minLength: 1, maxLength: 32 },
      description: 'Upper-case HTTP methods (a rule with GET also matches HEAD), or ["*"] for any',
    },
    path: {
      type: 'string',
      ...limits.authRoutes.path,
      description: 'A path starting with "/": literal segments, `*` for exactly one segment, `**` for any number. Compared case-insensitively with the normalised request path',
    },
    require: {
      type: 'string',
      ...limits.requirement,
      description: 'Scope names joined by AND / OR, with parentheses, that the key must hold; "" or absent: any valid key',
    },
  },
} as const;

const ruleOut = {
  type: 'object',
  required: ['methods', 'path', 'require'],
  additionalProperties: false,
  properties: { methods: { type: 'array', items: { type: 'string' } }, path: { type: 'string' }, require: { type: 'string' } },
} as const;

const rulesOut = {
  type: 'object',
  required: ['mode', 'default', 'rules'],
  additionalProperties: false,
  properties: { mode, default: fallback, rules: { type: 'array', items: ruleOut } },
} as const;

export async function authRouteRoutes(untyped: FastifyInstance, { services }: { services: Services }) {
  // Request types come from each route's schema.
  const app = untyped.withTypeProvider<JsonSchemaToTsProvider>();
  const { authRoutes } = services;
  const onRequest = app.authenticate;

  app.get(
    '/v1/authRoutes',
    {
      onRequest,
      config: TENANT_POLICY,
      schema: {
        tags,
        security,
        summary: "The tenant's forward-auth route rules (tenant admins)",
        description: 'Until set: `{"mode": "enforce", "default": "allow", "rules": []}`, which lets every valid key through GET /v1/auth/check.',
        response: { 200: rulesOut, ...errorResponses },
      },
    },
    async (request) => authRoutes.get(context(request)),
  );

  app.put(
    '/v1/authRoutes',
    {
      onRequest,
      config: TENANT_POLICY,
      bodyLimit: RULES_BODY_LIMIT,
      schema: {
        tags,
        security,
        summary: "Replace the tenant's forward-auth route rules (tenant admins); in force on every instance within a second",
        description:
          'GET /v1/auth/check matches the original request (X-Original-Method, X-Original-URI, normalised) against the rules in order; ' +
          'the first match says which scopes the key needs, and no match falls to `default`. ' +
          `At most ${limits.authRoutes.rules.maxItems} rules.`,
        body: {
          type: 'object',
          required: ['mode', 'default', 'rules'],
          additionalProperties: false,
          properties: { mode, default: fallback, rules: { type: 'array', ...limits.authRoutes.rules, items: ruleIn } },
        },
        response: { 200: rulesOut, ...errorResponses },
      },
    },
    async (request) => authRoutes.put(context(request), request.body),
  );
}
