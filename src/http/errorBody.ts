/**
 * Palette's v1Error body, {code, message, ref, details}: the one place its shape is written. The
 * code is one of the registry's (domain/errors.ts), and its message is the registry's unless the
 * caller has a better one.
 */
import { newRequestId } from './requestId.js';
import { STATUS_CODES } from 'node:http';
import { type ErrorCode, errorCodes } from '../domain/errors.js';

export interface V1Error {
  code: ErrorCode;
  message: string;
  ref: string;
  details: Record<string, unknown>;
}

/** `ref` is the request id; where there is no request yet (a socket-level error), a fresh one. */
export function errorBody(code: ErrorCode, message?: string, ref?: string, details?: Record<string, unknown>): V1Error {
  return { code, message: message ?? errorCodes[code].message, ref: ref ?? newRequestId(), details: details ?? {} };
}

/**
 * A whole HTTP/1.1 error response, for a socket that no Fastify reply owns (Node's parser refused
 * the request). The connection is closed after it: the stream cannot be trusted past the error.
 */
export function rawErrorResponse(status: number, code: ErrorCode, message?: string): string {
  const body = JSON.stringify(errorBody(code, message));
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    `X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`
  );
}
