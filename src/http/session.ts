/**
 * The web console's session: the same 15-minute token as the API's, carried in an HttpOnly,
 * SameSite=Strict cookie, renewed as the person keeps working. Writes made with the cookie
 * need a CSRF token (double-submit: a readable cookie the console echoes in X-CSRF-Token), and
 * a cross-origin Origin header is refused outright.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { KeywardError } from '../domain/errors.js';
import type { CookieJar, DeviceCookie } from '../service/auth.js';
import { DEVICE_COOKIE_LIFETIME_MS } from '../service/deviceCookies.js';
import { TOKEN_LIFETIME_MS } from '../service/tokens.js';
import { expectedOrigin, reachedOverHttps } from './publicUrl.js';

export const SESSION_COOKIE = 'keyward_session';
export const CSRF_COOKIE = 'keyward_csrf';
export const CSRF_HEADER = 'x-csrf-token';
/** A cookie session is renewed on use once its token is this old. */
export const RENEW_AFTER_MS = 5 * 60 * 1000;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function cookieOptions(request: FastifyRequest, httpOnly: boolean) {
  return {
    path: '/',
    httpOnly,
    sameSite: 'strict' as const,
    secure: reachedOverHttps(request),
    maxAge: TOKEN_LIFETIME_MS / 1000,
  };
}

/** The request's cookies, parsed on first use (the cookie plugin does not parse every request's). */
export function cookiesOf(request: FastifyRequest): Record<string, string | undefined> {
  if (!request.cookies) {
    const header = request.headers.cookie;
    request.cookies = header ? request.server.parseCookie(header) : {};
  }
  return request.cookies;
}

export function setSessionCookies(request: FastifyRequest, reply: FastifyReply, token: string, csrf?: string): void {
  reply.setCookie(SESSION_COOKIE, token, cookieOptions(request, true));
  reply.setCookie(CSRF_COOKIE, csrf ?? cookiesOf(request)[CSRF_COOKIE] ?? randomBytes(24).toString('base64url'), cookieOptions(request, false));
}

/**
 * The device cookie of a successful sign-in (see service/deviceCookies.ts): HttpOnly, SameSite=
 * Strict, Secure behind TLS, long-lived, and sent only to the API. Logout leaves it: it opens
 * nothing, and the browser stays known to the account.
 */
export function setDeviceCookie(request: FastifyRequest, reply: FastifyReply, device: DeviceCookie): void {
  reply.setCookie(device.name, device.value, { ...cookieOptions(request, true), path: '/v1/', maxAge: DEVICE_COOKIE_LIFETIME_MS / 1000 });
}

/** The request's cookies, for finding a known device's. */
export const cookieJar = (request: FastifyRequest): CookieJar => (name) => cookiesOf(request)[name];

export function clearSessionCookies(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/' });
  reply.clearCookie(CSRF_COOKIE, { path: '/' });
}

/** Refuses a cookie-authenticated write that lacks the CSRF token or comes from another origin. */
export function checkCsrf(request: FastifyRequest): void {
  if (SAFE_METHODS.has(request.method)) return;
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== expectedOrigin(request)) {
    throw new KeywardError('Forbidden', 'Cross-origin requests with the session cookie are not allowed.');
  }
  const expected = cookiesOf(request)[CSRF_COOKIE];
  const given = request.headers[CSRF_HEADER];
  if (!expected || typeof given !== 'string' || !safeEqual(expected, given)) {
    throw new KeywardError('Forbidden', 'The CSRF token is missing or wrong. Reload the page and try again.');
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
