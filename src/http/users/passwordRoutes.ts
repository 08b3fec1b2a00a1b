/** Password change (Palette's `V1UsersPasswordChange`) and a tenant admin's reset of a user's password. */
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../../service/services.js';
import { refusalLog } from '../auth/routes.js';
import { context, presentedToken } from '../credentials.js';
import { errorResponses, newPassword, security, uidParams } from '../schemas.js';
import { checkCsrf, cookieJar, cookiesOf, SESSION_COOKIE } from '../session.js';

const tags = ['users'];
// The password presented as the current one: bounded as a new one is, with nothing to say about the policy.
const currentPassword = { type: 'string', maxLength: newPassword.maxLength } as const;
const noContent = { 204: { type: 'null' }, ...errorResponses } as const;

export async function passwordRoutes(untyped: FastifyInstance, { services }: { services: Services }) {
  // Request types come from each route's schema.
  const app = untyped.withTypeProvider<JsonSchemaToTsProvider>();
  const { auth, passwords } = services;

  /** The caller's own session, when it presents one: a password change leaves it signed in. */
  async function callerSession(request: FastifyRequest): Promise<string | undefined> {
    const token = presentedToken(request);
    const cookie = token === undefined ? cookiesOf(request)[SESSION_COOKIE] : undefined;
    if (cookie) checkCsrf(request);
    const presented = token ?? cookie;
    return presented ? (await auth.session(presented))?.sessionUid : undefined;
  }

  app.patch(
    '/v1/users/password/change',
    {
      schema: {
        tags,
        summary: "Change a user's password with the current one; the user's other sessions end",
        description:
          'Needs no session: the current password proves who is asking (and counts against the same guessing limits as a sign-in). ' +
          `The new password: ${newPassword.description}`,
        body: {
          type: 'object',
          required: ['emailId', 'currentPassword', 'newPassword'],
          properties: { emailId: { type: 'string', maxLength: 320 }, currentPassword, newPassword },
        },
        response: noContent,
      },
    },
    async (request, reply) => {
      const sessionUid = await callerSession(request);
      await passwords.change(request.body, { address: request.ip, sessionUid, log: refusalLog(request), cookies: cookieJar(request) });
      return reply.code(204).send(null);
    },
  );

  app.patch(
    '/v1/users/:uid/password/reset',
    {
      onRequest: app.authenticate,
      // Sessions only in practice (see the description); a key would need users:write first.
      config: { scope: 'users:write' },
      schema: {
        tags,
        security,
        summary: "Set another user's password (tenant admins, signed in); all of the user's sessions end",
        description:
          'Needs a session (a token or the console cookie), not an API key, and the resetting admin\'s own password in `currentPassword`, ' +
          'checked within the same guessing limits as a sign-in. Your own password is changed with PATCH /v1/users/password/change. ' +
          `The new password: ${newPassword.description}`,
        params: uidParams,
        body: {
          type: 'object',
          required: ['newPassword', 'currentPassword'],
          properties: { newPassword, currentPassword: { ...currentPassword, description: 'Your own password, the resetting admin\'s' } },
        },
        response: noContent,
      },
    },
    async (request, reply) => {
      const ctx = { ...context(request), log: refusalLog(request), cookies: cookieJar(request) };
      await passwords.reset(ctx, request.params.uid, request.body);
      return reply.code(204).send(null);
    },
  );
}
