/** Password change (Palette's `V1UsersPasswordChange`) and a tenant admin's reset of a user's password. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../../service/services.js';
import { refusalLog } from '../auth/routes.js';
import { context, presentedToken } from '../credentials.js';
import { errorResponses, security, uidParams } from '../schemas.js';
import { checkCsrf, cookiesOf, SESSION_COOKIE } from '../session.js';

const tags = ['users'];
// Past the policy's 1,024 characters, so that the policy's own message names the rule; the
// bound only keeps a hostile body from costing a long hash.
const password = { type: 'string', maxLength: 4096 } as const;
const noContent = { 204: { type: 'null' }, ...errorResponses } as const;

export async function passwordRoutes(app: FastifyInstance, { services }: { services: Services }) {
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
          'The new password must be at least 12 characters long, and neither the email address nor contain its name part.',
        body: {
          type: 'object',
          required: ['emailId', 'currentPassword', 'newPassword'],
          properties: { emailId: { type: 'string', maxLength: 320 }, currentPassword: password, newPassword: password },
        },
        response: noContent,
      },
    },
    async (request, reply) => {
      const body = request.body as { emailId: string; currentPassword: string; newPassword: string };
      const sessionUid = await callerSession(request);
      await passwords.change(body, { address: request.ip, sessionUid, log: refusalLog(request) });
      return reply.code(204).send();
    },
  );

  app.patch(
    '/v1/users/:uid/password/reset',
    {
      onRequest: app.authenticate,
      schema: {
        tags,
        security,
        summary: "Set a user's password (tenant admins); all of the user's sessions end",
        params: uidParams,
        body: { type: 'object', required: ['newPassword'], properties: { newPassword: password } },
        response: noContent,
      },
    },
    async (request, reply) => {
      const { uid } = request.params as { uid: string };
      await passwords.reset(context(request), uid, (request.body as { newPassword: string }).newPassword);
      return reply.code(204).send();
    },
  );
}
