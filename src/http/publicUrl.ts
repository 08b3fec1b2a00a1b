/**
 * KEYWARD_PUBLIC_URL: the origin people reach Keyward at. Behind an HTTPS proxy, the scheme and
 * host Keyward itself sees differ from the browser's, so the cookie's `Secure` flag and the CSRF
 * Origin check go by this setting when it is given, and by the request otherwise.
 */
import type { FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyInstance {
    /** The configured public origin (`https://keys.example.com`), or null when not configured. */
    publicOrigin: string | null;
  }
}

/** Parses the setting; throws an Error whose message is a one-line reason. */
export function parsePublicUrl(raw: string | undefined): string | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const reason = 'KEYWARD_PUBLIC_URL must be the origin people reach Keyward at, such as https://keys.example.com';
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new Error(`${reason} (got "${raw}")`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`${reason} (got the scheme "${url.protocol}")`);
  if (url.username || url.password || url.search || url.hash) throw new Error(`${reason}, without credentials, query or fragment`);
  // The console is served at /; a path would not make it reachable elsewhere.
  if (url.pathname !== '/') throw new Error(`${reason}, without a path (got "${url.pathname}")`);
  return url.origin;
}

/** The origin the browser is on: the configured one, or what the request says. */
export function expectedOrigin(request: FastifyRequest): string {
  return request.server.publicOrigin ?? `${request.protocol}://${request.headers.host}`;
}

/** Whether the browser reaches us over HTTPS, so cookies must be `Secure`. */
export function reachedOverHttps(request: FastifyRequest): boolean {
  const origin = request.server.publicOrigin;
  return origin === null ? request.protocol === 'https' : origin.startsWith('https:');
}
