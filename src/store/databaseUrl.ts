/** KEYWARD_DATABASE_URL: which database, and where. */

/** An SQLite file beside the server: one instance, nothing to set up. */
export const DEFAULT_DATABASE_URL = 'sqlite:./data/keyward.db';

export type DatabaseTarget = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

export function parseDatabaseUrl(url: string): DatabaseTarget {
  if (url.startsWith('sqlite:')) return { kind: 'sqlite', path: url.slice('sqlite:'.length) };
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return { kind: 'postgres', url };
  throw new Error(`KEYWARD_DATABASE_URL must start with sqlite: or postgres:// (got "${url.split(':')[0]}:...")`);
}

/**
 * Whether several processes may share the database at `url` (and so must share one server
 * secret), answered before connecting: the same answer as `StoreCapabilities.sharedByProcesses`.
 * Throws, saying why, on a URL that names no database Keyward knows.
 */
export function isSharedByProcesses(url: string): boolean {
  return parseDatabaseUrl(url).kind === 'postgres';
}
