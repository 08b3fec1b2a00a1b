import { randomBytes } from 'node:crypto';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { KeywardError } from '../../domain/errors.js';
import { limits } from '../../domain/limits.js';
import type { Services } from '../../service/services.js';
import { presentedToken, tooManyFailures } from '../credentials.js';
import { checkCsrf, clearSessionCookies, cookieJar, cookiesOf, SESSION_COOKIE, setDeviceCookie, setSessionCookies } from '../session.js';
import { errorResponses } from '../schemas.js';
import { forwardAuthCheck } from './check.js';

const tags = ['auth'];
const str = { type: 'string' } as const;
const tokenResponse = { type: 'object', properties: { Authorization: str, isMfa: { type: 'boolean' } } } as const;

/** Where a refused attempt on an account that does not exist is told: the log, not the audit table. */
export const refusalLog = (request: FastifyRequest) => (fields: Record<string, unknown>) => request.log.info({ reqId: request.id, ...fields }, 'password attempt refused');

export async function authRoutes(untyped: FastifyInstance, { services }: { services: Services }) {
  // Request types come from each route's schema.
  const app = untyped.withTypeProvider<JsonSchemaToTsProvider>();
  const { auth, authenticator } = services;

  app.post(
    '/v1/auth/authenticate',
    {
      schema: {
        tags,
        summary: 'Sign in with email and password; returns a session token valid for 15 minutes',
        querystring: { type: 'object', properties: { setCookie: { type: 'string', enum: ['true', 'false'] } } },
        body: {
          type: 'object',
          required: ['emailId', 'password'],
          // No password the policy allows is longer.
          properties: { emailId: { type: 'string', maxLength: 320 }, password: { type: 'string', maxLength: limits.password.maxLength }, org: str },
        },
        response: { 200: tokenResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { emailId, password } = request.body;
      const { token, device } = await auth.authenticate(emailId, password, request.ip, refusalLog(request), cookieJar(request));
      // As Palette does, set the session cookie unless asked not to (?setCookie=false), and with it
      // the device cookie, which opens nothing and spares a browser others' lockouts. A client that
      // asked for no cookies gets none.
      if (request.query.setCookie !== 'false') {
        setSessionCookies(request, reply, token, randomBytes(24).toString('base64url'));
        setDeviceCookie(request, reply, device);
      }
      return { Authorization: token, isMfa: false };
    },
  );

  app.post(
    '/v1/auth/logout',
    {
      schema: {
        tags,
        summary: 'Sign out: ends the session of the Authorization token or session cookie presented, and clears the cookies',
        response: { 204: { type: 'null' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const token = presentedToken(request);
      const cookie = cookiesOf(request)[SESSION_COOKIE];
      if (token !== undefined) await auth.logout(token, request.ip);
      if (cookie && cookie !== token) {
        // A cookie ends its session only with the CSRF token, as any other write made with it.
        // Beside a token (an API client that keeps cookies), a cookie without it is only cleared.
        let mayAct = true;
        try {
          checkCsrf(request);
        } catch (err) {
          if (token === undefined) throw err;
          mayAct = false;
        }
        if (mayAct) await auth.logout(cookie, request.ip);
      }
      clearSessionCookies(reply);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/auth/refresh/:token',
    {
      schema: {
        tags,
        summary: 'Exchange a valid session token for a fresh one',
        params: { type: 'object', required: ['token'], properties: { token: { type: 'string', maxLength: 4096 } } },
        response: { 200: tokenResponse, ...errorResponses },
      },
    },
    // A bad, expired or ended token here is a credential failure like any other.
    async (request) => {
      const { token } = request.params;
      const outcome = await authenticator.authenticate({ token }, { address: request.ip });
      if (!outcome.ok) {
        throw outcome.code === 'TooManyRequests'
          ? tooManyFailures(outcome.retryAfter ?? 1)
          : new KeywardError('Unauthorized', 'The token is invalid or has expired, or its session has ended. Sign in again.');
      }
      return { Authorization: await auth.refresh(outcome.session, request.ip), isMfa: false };
    },
  );

  // Forward authentication for reverse proxies: the key, its limits and the tenant's route rules.
  forwardAuthCheck(app, services);
}
