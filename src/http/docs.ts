/**
 * The interactive API reference (swagger-ui) at /docs, with the console's security headers: it
 * runs in the same origin as the console and the session cookie, so a page framed or injected
 * here could act as the signed-in person just as well.
 */
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { htmlHeaders } from './console.js';

// swagger-ui loads its bundle, styles and the spec from this origin, shows its logo and icons as
// data: images, and its "Try it out" calls this origin. No inline script or style is needed:
// the HTML references files only, and the bundle sets styles through the DOM, which CSP allows.
const DOCS_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export async function docsRoutes(app: FastifyInstance) {
  // Registered here, not in the app's root, so that the hook covers every route swagger-ui adds
  // (its page, the spec, its static files) and nothing else.
  app.addHook('onRequest', (_request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    htmlHeaders(reply, DOCS_CSP);
    done();
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
}
