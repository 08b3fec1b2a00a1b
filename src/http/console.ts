/**
 * Serves the web console (web/dist, built by `npm ci`) at `/`. Any other GET outside the API
 * that asks for HTML gets index.html, so that the console's own paths survive a reload.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { KeywardError } from '../domain/errors.js';

export const CONSOLE_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url));

// The console loads only its own scripts and styles and talks only to its own origin.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** Headers for the console's pages and files, and /docs's (the API's JSON answers do not need them). */
export function htmlHeaders<R extends { header(name: string, value: string): R }>(reply: R, csp = CSP): R {
  return reply.header('content-security-policy', csp).header('referrer-policy', 'no-referrer').header('x-frame-options', 'DENY');
}

export function consoleAvailable(dir = CONSOLE_DIR): boolean {
  return existsSync(`${dir}/index.html`);
}

export async function consoleRoutes(app: FastifyInstance, opts: { dir?: string }) {
  const root = opts.dir ?? CONSOLE_DIR;
  if (!consoleAvailable(root)) {
    app.get('/', async () => {
      throw new KeywardError('ServiceUnavailable', 'The web console is not built. Run npm ci (or npm run build:web).');
    });
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    wildcard: false,
    index: ['index.html'],
    setHeaders: (reply) => htmlHeaders(reply),
  });
  // The console's own paths all load the same page, so that a reload or a bookmark works.
  const page = async (_request: FastifyRequest, reply: FastifyReply) => htmlHeaders(reply).sendFile('index.html');
  for (const path of ['/login', '/keys', '/tenant', '/tenant/*']) app.get(path, { schema: { hide: true } }, page);
}
