/** Settings, read once from the environment. README.md lists every variable. */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseTrustProxy, type TrustProxy } from './http/clientAddress.js';
import { type ConnectionLimits, defaultConnectionLimits as limits } from './http/connections.js';
import { parsePublicUrl } from './http/publicUrl.js';
import { DEFAULT_DATABASE_URL, isSharedByProcesses } from './store/databaseUrl.js';

/** Settings, with the server's connection limits (their meanings are in http/connections.ts). */
export interface Config extends ConnectionLimits {
  databaseUrl: string;
  host: string;
  port: number;
  secret: string;
  adminEmail: string;
  adminPassword?: string;
  logLevel: string;
  maxKeyLifetimeDays: number;
  /** Which X-Forwarded-For entries to believe for the client's address (see http/clientAddress.ts). */
  trustProxy: TrustProxy;
  /** The origin people reach Keyward at, behind a proxy: `https://keys.example.com`. */
  publicUrl?: string;
  /** Audit entries older than this are deleted; 0 keeps them forever. */
  auditRetentionDays: number;
  lastUsedFlushMs: number;
  cacheMaxEntries: number;
  cacheTtlMs: number;
  authFailuresPerMinute: number;
}

export class ConfigError extends Error {}

const SECRET_FILE = './data/secret';

function parsed<T>(parse: (raw: string | undefined) => T, raw: string | undefined): T {
  try {
    return parse(raw);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}

function intSetting(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
  return n;
}

/**
 * The server secret. Where several instances share the database (PostgreSQL) every one must
 * use the same, so it must be given. Where one process has it (SQLite, one machine) it is
 * generated once into ./data/secret and reused.
 */
export function resolveSecret(env: NodeJS.ProcessEnv, sharedDatabase: boolean, secretFile = SECRET_FILE): string {
  const given = env.KEYWARD_SECRET;
  if (given) {
    if (given.length < 16) throw new ConfigError('KEYWARD_SECRET must be at least 16 characters long');
    return given;
  }
  if (sharedDatabase) {
    throw new ConfigError('KEYWARD_SECRET is required with PostgreSQL: every instance sharing the database must use the same one');
  }
  if (existsSync(secretFile)) return readFileSync(secretFile, 'utf8').trim();
  mkdirSync(dirname(secretFile), { recursive: true, mode: 0o700 });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(secretFile, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return secret;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const databaseUrl = env.KEYWARD_DATABASE_URL || DEFAULT_DATABASE_URL;
  let sharedDatabase: boolean;
  try {
    sharedDatabase = isSharedByProcesses(databaseUrl);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const requestTimeoutMs = intSetting(env, 'KEYWARD_REQUEST_TIMEOUT_MS', limits.requestTimeoutMs, 100, 3_600_000);
  return {
    databaseUrl,
    host: env.KEYWARD_HOST || '127.0.0.1',
    port: intSetting(env, 'KEYWARD_PORT', 8080, 0, 65535),
    secret: resolveSecret(env, sharedDatabase),
    adminEmail: env.KEYWARD_ADMIN_EMAIL || 'admin@keyward.local',
    adminPassword: env.KEYWARD_ADMIN_PASSWORD || undefined,
    logLevel: env.KEYWARD_LOG_LEVEL || 'info',
    maxKeyLifetimeDays: intSetting(env, 'KEYWARD_MAX_KEY_LIFETIME_DAYS', 365, 1, 36500),
    trustProxy: parsed(parseTrustProxy, env.KEYWARD_TRUST_PROXY),
    publicUrl: parsed(parsePublicUrl, env.KEYWARD_PUBLIC_URL),
    requestTimeoutMs,
    // Node refuses a headers timeout longer than the request timeout; the shorter one would win anyway.
    headersTimeoutMs: Math.min(intSetting(env, 'KEYWARD_HEADERS_TIMEOUT_MS', limits.headersTimeoutMs, 100, 3_600_000), requestTimeoutMs),
    responseTimeoutMs: intSetting(env, 'KEYWARD_RESPONSE_TIMEOUT_MS', limits.responseTimeoutMs, 100, 3_600_000),
    keepAliveTimeoutMs: intSetting(env, 'KEYWARD_KEEP_ALIVE_TIMEOUT_MS', limits.keepAliveTimeoutMs, 100, 3_600_000),
    maxConnections: intSetting(env, 'KEYWARD_MAX_CONNECTIONS', limits.maxConnections, 1, 1_000_000),
    maxConnectionsPerAddress: intSetting(env, 'KEYWARD_MAX_CONNECTIONS_PER_ADDRESS', limits.maxConnectionsPerAddress, 1, 1_000_000),
    shutdownTimeoutMs: intSetting(env, 'KEYWARD_SHUTDOWN_TIMEOUT_MS', limits.shutdownTimeoutMs, 0, 3_600_000),
    auditRetentionDays: intSetting(env, 'KEYWARD_AUDIT_RETENTION_DAYS', 365, 0, 36500),
    lastUsedFlushMs: intSetting(env, 'KEYWARD_LAST_USED_FLUSH_MS', 30_000, 100, 3_600_000),
    cacheMaxEntries: intSetting(env, 'KEYWARD_CACHE_MAX_KEYS', 100_000, 0, 100_000_000),
    cacheTtlMs: intSetting(env, 'KEYWARD_CACHE_TTL_MS', 60_000, 0, 86_400_000),
    authFailuresPerMinute: intSetting(env, 'KEYWARD_AUTH_FAILURES_PER_MINUTE', 100, 0, 1_000_000),
  };
}
