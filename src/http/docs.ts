/**
 * The interactive API reference (swagger-ui) at /docs, with the console's security headers: it
 * runs in the same origin as the console and the session cookie, so a page framed or injected
 * here could act as the signed-in person just as well.
 */
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { htmlHeaders } from './console.js';

// swagger-ui loads its bundle, styles and the spec from this origin, shows its logo and icons as
// data: images, and its "Try it out" calls this origin. No inline script is needed: the HTML
// references files only, and the bundle sets styles through the DOM, which CSP allows. The one
// inline style is the <style> inside swagger-ui's own top-bar logo (an inline SVG, replaced by
// ours once the page loads), allowed by its hash so the page raises no CSP error; should an
// upgrade change it, the cost is that error in the browser console, nothing else.
const SWAGGER_LOGO_STYLE = "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='";
const DOCS_CSP =
  `default-src 'self'; script-src 'self'; style-src 'self' ${SWAGGER_LOGO_STYLE}; img-src 'self' data:; connect-src 'self'; ` +
  "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export async function docsRoutes(app: FastifyInstance) {
  // Registered here, not in the app's root, so that the hook covers every route swagger-ui adds
  // (its page, the spec, its static files) and nothing else.
  app.addHook('onRequest', (_request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    htmlHeaders(reply, DOCS_CSP);
    done();
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
}
