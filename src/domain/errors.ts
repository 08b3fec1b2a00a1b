/**
 * The one registry of error codes: each code's HTTP status and default message.
 * Services throw `KeywardError`; the HTTP error handler turns it into Palette's v1Error body.
 */
export const errorCodes = {
  BadRequest: { status: 400, message: 'The request is not valid.' },
  Unauthorized: { status: 401, message: 'Sign in, or present a valid API key, to use this endpoint.' },
  ApiKeyInactive: { status: 401, message: 'This API key has been revoked. Re-activate it to use it again.' },
  ApiKeyExpired: { status: 401, message: 'This API key has expired. Extend its expiry date, then re-activate it if needed.' },
  Forbidden: { status: 403, message: 'You are not allowed to do this.' },
  ResourceNotFound: { status: 404, message: 'The resource was not found.' },
  Conflict: { status: 409, message: 'The request conflicts with the current state of the resource.' },
  PayloadTooLarge: { status: 413, message: 'The request body is too large.' },
  UnsupportedMediaType: { status: 415, message: 'Send the request body as application/json.' },
  TooManyRequests: { status: 429, message: 'Too many requests. Wait and try again.' },
  InternalError: { status: 500, message: 'Something went wrong on the server. Try again; if it persists, contact your administrator.' },
  ServiceUnavailable: { status: 503, message: 'The server is shutting down. Try again.' },
} as const;

export type ErrorCode = keyof typeof errorCodes;

export class KeywardError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown>;
  /** Seconds the client should wait before retrying (sent as Retry-After). */
  readonly retryAfter?: number;

  constructor(
    code: ErrorCode,
    message?: string,
    opts: { details?: Record<string, unknown>; status?: number; retryAfter?: number } = {},
  ) {
    super(message ?? errorCodes[code].message);
    this.code = code;
    this.status = opts.status ?? errorCodes[code].status;
    this.details = opts.details ?? {};
    this.retryAfter = opts.retryAfter;
  }
}

export const badRequest = (message: string, details?: Record<string, unknown>) =>
  new KeywardError('BadRequest', message, { details });
export const notFound = (what: string) => new KeywardError('ResourceNotFound', `${what} was not found.`);
export const forbidden = (message: string) => new KeywardError('Forbidden', message);
export const conflict = (message: string, details?: Record<string, unknown>) =>
  new KeywardError('Conflict', message, { details });
