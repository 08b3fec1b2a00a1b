/**
 * Builds the Fastify application apart from `listen`, so tests drive it with `app.inject()`
 * and the CLI serves the same thing.
 */
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest, LogController } from 'fastify';
import { badRequest, KeywardError } from '../domain/errors.js';
import type { Services } from '../service/services.js';
import { apiKeyRoutes } from './apiKeys/routes.js';
import { auditRoutes } from './audits/routes.js';
import { authRoutes } from './auth/routes.js';
import { authRouteRoutes } from './authRoutes/routes.js';
import { clientAddressResolver, type TrustProxy, trustsPeer } from './clientAddress.js';
import { type ConnectionLimits, defaultConnectionLimits, serverOptions, trackConnections } from './connections.js';
import { consoleRoutes } from './console.js';
import { credentials } from './credentials.js';
import { docsRoutes } from './docs.js';
import { clientErrorHandler, frameworkErrorHandler, registerErrorHandling } from './errors.js';
import { standardHeaders } from './headers.js';
import { healthRoutes } from './health/routes.js';
import { accessLine } from './logging.js';
import { registerJsonBody } from './jsonBody.js';
// For its declaration of app.publicOrigin, read by the session cookies and the CSRF check.
import './publicUrl.js';
import { newRequestId } from './requestId.js';
import { passwordRoutes } from './users/passwordRoutes.js';
import { userRoutes } from './users/routes.js';
import { schemaErrorFormatter } from './validationMessages.js';

export interface AppOptions {
  services: Services;
  /** A pino logger (see logging.ts for its options); none when absent. */
  logger?: FastifyBaseLogger;
  /** Which X-Forwarded-For entries to believe (`true` is one proxy hop); none when absent. */
  trustProxy?: TrustProxy | boolean;
  /** KEYWARD_PUBLIC_URL's origin: the console's origin behind a proxy. */
  publicUrl?: string;
  /** Timeouts, the connection cap and the shutdown deadline of the listening server. */
  limits?: Partial<ConnectionLimits>;
}

// Nothing Keyward accepts comes close; a small limit keeps hostile bodies cheap to refuse.
const BODY_LIMIT = 64 * 1024;

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const trust: TrustProxy = opts.trustProxy === true ? { hops: 1 } : (opts.trustProxy ?? false);
  const peerTrusted = trustsPeer(trust);
  const resolveAddress = trust === false ? undefined : clientAddressResolver(trust);
  /**
   * Fastify's own request.ip, given a trust function, walks X-Forwarded-For on every read and
   * returns whatever string it lands on (and with trustProxy=true, the leftmost one, which the
   * client chose). Instead the validated address is computed once per request and shadows the
   * getter on that request, so every reader of request.ip (limits, audit, logs) sees the same one.
   */
  const setClientAddress = resolveAddress
    ? (request: FastifyRequest) => {
        Object.defineProperty(request, 'ip', { value: resolveAddress(request.raw.socket?.remoteAddress, request.headers['x-forwarded-for']), enumerable: true });
      }
    : undefined;
  const limits = { ...defaultConnectionLimits, ...opts.limits };
  const server = serverOptions(limits);
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    // No child logger per request (pino's child() is a measurable cost on the hot path): the
    // few lines we write about a request carry its id themselves.
    childLoggerFactory: (logger) => logger,
    // Only for X-Forwarded-Proto and -Host (request.protocol, request.host): believed from a
    // trusted proxy. The client's address is set above.
    trustProxy: trust === false ? false : (address: string, hop: number) => hop === 0 && peerTrusted(address),
    requestTimeout: server.requestTimeout,
    connectionTimeout: server.connectionTimeout,
    keepAliveTimeout: server.keepAliveTimeout,
    // While stopping, the onRequest hook below answers with Palette's v1Error, not Fastify's own body.
    return503OnClosing: false,
    bodyLimit: BODY_LIMIT,
    genReqId: newRequestId,
    // One log line per request (written in onResponse below), not Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    // The session token travels in the path of GET /v1/auth/refresh/{token}.
    routerOptions: { maxParamLength: 4096 },
    requestIdHeader: false,
    clientErrorHandler,
    frameworkErrors: setClientAddress
      ? (err, request, reply) => {
          setClientAddress(request);
          frameworkErrorHandler(err, request, reply);
        }
      : frameworkErrorHandler,
    // Node answers a request without Host with a bare 400 of its own; let it through to the
    // onRequest hook below, which refuses it with Palette's v1Error body.
    http: { requireHostHeader: false, ...server.http },
    ajv: {
      // Wrong types are errors, not something to coerce: `"isActive": "false"` must not revoke.
      // verbose: a failed check carries its schema, whose description validationMessages.ts uses.
      customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false, verbose: true },
    },
    schemaErrorFormatter,
  });

  registerJsonBody(app);
  // Read by the session cookies and the CSRF Origin check (publicUrl.ts).
  app.decorate('publicOrigin', opts.publicUrl ? new URL(opts.publicUrl).origin : null);

  // Stopping (app.close()): no new requests, and a deadline for those in flight.
  const connections = trackConnections(app.server, limits, { exempt: peerTrusted, log: app.log });
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    connections.endAfter(limits.shutdownTimeoutMs, (count) => app.log.warn({ connections: count }, 'shutdown deadline passed: closed the connections still open'));
    done();
  });

  // PostgreSQL cannot store NUL in text; no value Keyward takes has a use for it. Refuse it
  // in the path and query here, and in bodies in jsonBody.ts, rather than fail deep in the database.
  // Hooks on every request are written callback-style: this is the hot path, and an async
  // function per hook costs a promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    setClientAddress?.(request);
    standardHeaders(request, reply);
    if (closing) {
      reply.header('connection', 'close');
      return done(new KeywardError('ServiceUnavailable', 'The server is shutting down. Try again.'));
    }
    done(
      /%00/.test(request.url)
        ? badRequest('The URL must not contain NUL characters.')
        : request.headers.host === undefined && request.raw.httpVersion === '1.1'
          ? badRequest('An HTTP/1.1 request must carry a Host header.')
          : undefined,
    );
  });

  // One access line per request at info (logging.ts builds it); at warn nothing is built at all.
  const logAccess = opts.logger === undefined ? undefined : accessLine(app.log);
  app.addHook('onResponse', (request, reply, done) => {
    logAccess?.(request, reply.statusCode, reply.elapsedTime);
    // Stopping: a connection whose request has just been answered is idle now; close it rather
    // than keep the shutdown waiting for it until the deadline.
    if (closing) app.server.closeIdleConnections();
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
  await app.register(docsRoutes);

  // No parsing hook: most requests carry an API key or a token, not the console's cookie, and
  // are not worth a parse; cookiesOf (session.ts) reads the header when a cookie is asked for.
  await app.register(cookie, { hook: false });
  await app.register(credentials, { services: opts.services });
  await app.register(healthRoutes, { services: opts.services });
  await app.register(authRoutes, { services: opts.services });
  await app.register(userRoutes, { services: opts.services });
  await app.register(passwordRoutes, { services: opts.services });
  await app.register(apiKeyRoutes, { services: opts.services });
  await app.register(auditRoutes, { services: opts.services });
  await app.register(authRouteRoutes, { services: opts.services });
  await app.register(consoleRoutes, {});

  app.get('/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}
