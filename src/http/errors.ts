/** The one place that writes Palette's v1Error body: {code, message, ref, details}. */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCode, errorCodes, KeywardError } from '../domain/errors.js';

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'ResourceNotFound',
  409: 'Conflict',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
  429: 'TooManyRequests',
};

export function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  code: string,
  message: string,
  details: Record<string, unknown> = {},
) {
  return reply.code(status).type('application/json').send({ code, message, ref: request.id, details });
}

export function registerErrorHandling(app: FastifyInstance) {
  app.setErrorHandler((err: FastifyError | KeywardError, request, reply) => {
    if (err instanceof KeywardError) {
      if (err.retryAfter !== undefined) reply.header('retry-after', String(err.retryAfter));
      return sendError(request, reply, err.status, err.code, err.message, err.details);
    }
    const fe = err as FastifyError;
    if (fe.validation) {
      // Fastify's own message names the field: "body/metadata must have required property 'name'".
      return sendError(request, reply, 400, 'BadRequest', `Invalid request: ${fe.message}.`, {
        field: fe.validation[0]?.instancePath || fe.validation[0]?.params,
      });
    }
    const status = fe.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const code = CODE_BY_STATUS[status] ?? 'BadRequest';
      const message = code === 'PayloadTooLarge' || code === 'UnsupportedMediaType' ? errorCodes[code].message : fe.message;
      return sendError(request, reply, status, code, message);
    }
    request.log.error({ reqId: request.id, err }, 'request failed');
    return sendError(request, reply, 500, 'InternalError', errorCodes.InternalError.message);
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, 404, 'ResourceNotFound', `There is no ${request.method} endpoint at this path. See /docs for the API.`),
  );
}
