/** Every error answer, as Palette's v1Error body (built in errorBody.ts from the registry of codes). */
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCode, errorCodes, KeywardError } from '../domain/errors.js';
import { responseStarted } from './connections.js';
import { errorBody, rawErrorResponse } from './errorBody.js';
import { standardHeaders } from './headers.js';

/** The code for a bare status (Fastify's own 4xx errors): the registry's first code with that status. */
const CODE_BY_STATUS = new Map<number, ErrorCode>();
for (const [code, { status }] of Object.entries(errorCodes) as [ErrorCode, { status: number }][]) {
  if (!CODE_BY_STATUS.has(status)) CODE_BY_STATUS.set(status, code);
}

export function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  code: ErrorCode,
  message: string,
  details: Record<string, unknown> = {},
) {
  return reply.code(status).type('application/json').send(errorBody(code, message, request.id, details));
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
      const code = CODE_BY_STATUS.get(status) ?? 'BadRequest';
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

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (a malformed request line or
 * header, headers past the size limit, a bad chunk, Content-Length beside Transfer-Encoding):
 * still Palette's v1Error body, with a fresh ref since there is no request id yet, and the
 * connection closed, since the stream cannot be trusted past the error.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket) {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  // A response already under way (its body still arriving, say) cannot be followed by another.
  if (responseStarted(socket)) return void socket.destroy();
  const [status, message]: [number, string] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'The request was not completed in time.']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'The request headers are too large (at most 16 KB in all).']
        : [400, 'The request is not well-formed HTTP/1.1.'];
  if (socket.writable) socket.write(rawErrorResponse(status, 'BadRequest', message));
  socket.destroy();
}

/**
 * Fastify's router refuses some URLs before any hook runs (a malformed percent-encoding, a path
 * segment past `maxParamLength`). The same v1Error body as everywhere else; the URL is not echoed,
 * since a session token can sit in the path of /v1/auth/refresh/{token}.
 */
export function frameworkErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  standardHeaders(request, reply);
  // An error answer is never worth keeping, whatever the path.
  reply.header('cache-control', 'no-store');
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') return sendError(request, reply, 414, 'BadRequest', 'A segment of the URL path is too long.');
  return sendError(request, reply, 400, 'BadRequest', 'The URL is not valid: it has a malformed percent-encoding.');
}
