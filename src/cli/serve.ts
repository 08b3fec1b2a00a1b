/** `keyward serve`: open the database, make tenant `default` if it is due (see `bootstrap`), listen, and stop cleanly. */
import pino from 'pino';
import { type Config, ConfigError, loadConfig } from '../config.js';
import { KeywardError } from '../domain/errors.js';
import { buildApp } from '../http/app.js';
import { loggerOptions } from '../http/logging.js';
import { logDestination } from './logDestination.js';
import { bootstrap, createServices, DEFAULT_TENANT } from '../service/services.js';
import { Store } from '../store/store.js';

export async function serve(config: Config = loadConfig()): Promise<void> {
  // Log lines are buffered and written 64 KB at a time, or at least every quarter second: a
  // write per request line would cost a system call each, a good part of the server's CPU under
  // load. The cost: a kill -9 can lose the last quarter second of log lines, at most about 64 KB
  // of them (never data: that is in the database); a clean stop writes them all (see
  // logDestination.ts).
  const destination = logDestination({ fd: 1 });
  const logger = pino(loggerOptions(config.logLevel), destination);
  const exit = (code: number) => logger.flush(() => process.exit(code));
  const store = await Store.open(config.databaseUrl);
  // Database files left readable by other users by an older Keyward, made private at open.
  for (const note of store.connection.notes) logger.warn(note);
  const services = createServices(store, {
    secret: config.secret,
    maxKeyLifetimeDays: config.maxKeyLifetimeDays,
    lastUsedFlushMs: config.lastUsedFlushMs,
    cacheMaxEntries: config.cacheMaxEntries,
    cacheTtlMs: config.cacheTtlMs,
    authFailuresPerMinute: config.authFailuresPerMinute,
    auditRetentionDays: config.auditRetentionDays,
    onBackgroundError: (err) => logger.error({ err }, 'background task failed'),
  });
  const first = await bootstrap(services, config.adminEmail, config.adminPassword).catch((err) => {
    // Say which setting the password policy refused, not only which rule.
    throw err instanceof KeywardError && err.details.field === 'spec.password' ? new ConfigError(`KEYWARD_ADMIN_PASSWORD: ${err.message}`) : err;
  });
  if (first.outcome === 'skipped') {
    logger.warn({ tenant: DEFAULT_TENANT }, first.reason);
    process.stderr.write(`Keyward: ${first.reason}\n`);
  }
  if (first.outcome === 'created') {
    logger.info({ tenant: DEFAULT_TENANT, admin: config.adminEmail }, 'created tenant "default" and its tenant admin');
    if (first.generatedPassword) {
      // Shown once, to the person starting the server, outside the JSON log stream.
      process.stderr.write(
        `\nKeyward: tenant admin ${config.adminEmail} created with password:\n\n    ${first.generatedPassword}\n\n` +
          'It is shown only this once. Set KEYWARD_ADMIN_PASSWORD to choose it yourself.\n\n',
      );
    }
  }
  await services.start();
  const app = await buildApp({
    services,
    logger,
    trustProxy: config.trustProxy,
    publicUrl: config.publicUrl,
    limits: {
      requestTimeoutMs: config.requestTimeoutMs,
      headersTimeoutMs: config.headersTimeoutMs,
      responseTimeoutMs: config.responseTimeoutMs,
      keepAliveTimeoutMs: config.keepAliveTimeoutMs,
      maxConnections: config.maxConnections,
      maxConnectionsPerAddress: config.maxConnectionsPerAddress,
      shutdownTimeoutMs: config.shutdownTimeoutMs,
    },
  });
  let stopping = false;
  /** Stops the services, closes the database, flushes the log and exits with `code`. */
  const shutDown = async (code: number) => {
    // app.close() ends what is left at the deadline; this is the last resort should closing
    // the database or the listener hang.
    setTimeout(() => {
      logger.error('stopping took too long: exiting');
      exit(1);
    }, config.shutdownTimeoutMs + 10_000).unref();
    try {
      await app.close();
      await services.stop();
      await store.close();
      logger.info('stopped');
      exit(code);
    } catch (err) {
      logger.error({ err }, 'error while stopping');
      exit(1);
    }
  };
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, deadlineMs: config.shutdownTimeoutMs }, 'stopping: finishing requests in flight');
    await shutDown(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  let address: string;
  try {
    address = await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    // The port is taken, say. Nothing would stop what has started (PostgreSQL's LISTEN
    // connection, the timers): the process would stay up, serving nothing.
    stopping = true;
    logger.error({ err }, 'could not listen: stopping');
    process.stderr.write(`keyward: could not listen on ${config.host}:${config.port}: ${(err as Error).message}\n`);
    return shutDown(1);
  }
  destination.flush();
  // For the person who started it, whatever the log level: where to go.
  process.stderr.write(`Keyward is listening on ${address} (console at /, API docs at /docs)\n`);
}
