/**
 * Builds the Fastify application apart from `listen`, so tests drive it with `app.inject()`
 * and the CLI serves the same thing.
 */
import { randomUUID } from 'node:crypto';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { badRequest } from '../domain/errors.js';
import type { Services } from '../service/services.js';
import { apiKeyRoutes } from './apiKeys/routes.js';
import { auditRoutes } from './audits/routes.js';
import { authRoutes } from './auth/routes.js';
import { consoleRoutes } from './console.js';
import { credentials } from './credentials.js';
import { clientErrorHandler, frameworkErrorHandler, registerErrorHandling } from './errors.js';
import { standardHeaders } from './headers.js';
import { healthRoutes } from './health/routes.js';
import { passwordRoutes } from './users/passwordRoutes.js';
import { userRoutes } from './users/routes.js';

export interface AppOptions {
  services: Services;
  /** A pino logger (see logging.ts for its options); none when absent. */
  logger?: FastifyBaseLogger;
  trustProxy?: boolean;
}

// Nothing Keyward accepts comes close; a small limit keeps hostile bodies cheap to refuse.
const BODY_LIMIT = 64 * 1024;

function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) if (k.includes('\u0000') || containsNul(v)) return true;
  }
  return false;
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    // No child logger per request (pino's child() is a measurable cost on the hot path): the
    // few lines we write about a request carry its id themselves.
    childLoggerFactory: (logger) => logger,
    trustProxy: opts.trustProxy ?? false,
    bodyLimit: BODY_LIMIT,
    genReqId: () => randomUUID(),
    // One log line per request (written in onResponse below), not Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    // The session token travels in the path of GET /v1/auth/refresh/{token}.
    routerOptions: { maxParamLength: 4096 },
    requestIdHeader: false,
    clientErrorHandler,
    frameworkErrors: frameworkErrorHandler,
    // Node answers a request without Host with a bare 400 of its own; let it through to the
    // onRequest hook below, which refuses it with Palette's v1Error body.
    http: { requireHostHeader: false },
    ajv: {
      // Wrong types are errors, not something to coerce: `"isActive": "false"` must not revoke.
      customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false },
    },
  });

  // Palette's clients may send Content-Type: application/json with an empty body (a DELETE,
  // a revoke): take that as no body rather than refusing it.
  const defaultJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text.trim() === '') return done(null, undefined);
    defaultJson(request, text, (err, parsed) => {
      if (err) return done(err, undefined);
      if (containsNul(parsed)) return done(badRequest('Text in the request body must not contain NUL characters.'), undefined);
      done(null, parsed);
    });
  });
  // Every body is JSON: a text/plain body is an unsupported media type, not a string to validate.
  app.removeContentTypeParser('text/plain');

  // PostgreSQL cannot store NUL in text; no value Keyward takes has a use for it. Refuse it
  // in the path and query here, and in bodies above, rather than fail deep in the database.
  // Hooks on every request are written callback-style: this is the hot path, and an async
  // function per hook costs a promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    standardHeaders(request, reply);
    done(
      /%00/.test(request.url)
        ? badRequest('The URL must not contain NUL characters.')
        : request.headers.host === undefined && request.raw.httpVersion === '1.1'
          ? badRequest('An HTTP/1.1 request must carry a Host header.')
          : undefined,
    );
  });

  app.addHook('onResponse', (request, reply, done) => {
    request.log.info({ reqId: request.id, req: request, res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime }, 'request completed');
    done();
  });

  registerErrorHandling(app);

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Keyward API',
        version: '1',
        description: "API keys issued, verified, revoked and re-activated, following Spectro Cloud Palette's /v1/apiKeys contract.",
      },
      components: {
        securitySchemes: {
          ApiKey: { type: 'apiKey', in: 'header', name: 'ApiKey' },
          Authorization: { type: 'apiKey', in: 'header', name: 'Authorization' },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  await app.register(cookie);
  await app.register(credentials, { services: opts.services });
  await app.register(healthRoutes, { services: opts.services });
  await app.register(authRoutes, { services: opts.services });
  await app.register(userRoutes, { services: opts.services });
  await app.register(passwordRoutes, { services: opts.services });
  await app.register(apiKeyRoutes, { services: opts.services });
  await app.register(auditRoutes, { services: opts.services });
  await app.register(consoleRoutes, {});

  app.get('/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}
