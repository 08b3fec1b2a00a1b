/** Table shapes as Kysely sees them. Times are epoch milliseconds; booleans are 0/1 on both databases. */
import type { Generated } from 'kysely';

export interface TenantsTable {
  uid: string;
  name: string;
  created_at: number;
}

export interface UsersTable {
  uid: string;
  tenant_uid: string;
  /** Lower-cased; unique across tenants because sign-in is by email alone. */
  email: string;
  first_name: string;
  last_name: string;
  /** JSON array of role names. */
  roles: string;
  password_hash: string;
  created_at: number;
  updated_at: number;
  last_sign_in_at: number | null;
  /** 'person' or 'service' (a service account: no password, never signs in). */
  kind: Generated<string>;
}

export interface ApiKeysTable {
  uid: string;
  tenant_uid: string;
  user_uid: string;
  name: string;
  description: string;
  start: string;
  /** HMAC-SHA-256 of the key under the server secret. The key itself is never stored. */
  hash: string;
  expiry: number;
  is_active: number;
  revoked_at: number | null;
  revoked_by_uid: string | null;
  revoked_by_admin: number;
  created_at: number;
  updated_at: number;
  last_used_at: number | null;
  /** JSON array of scope names; the default `["*"]` is the owner's full power (keys made before scopes). */
  scopes: Generated<string>;
  /** JSON array of normalised CIDRs; the default `[]` is any address. */
  allowed_cidrs: Generated<string>;
}

/** A tenant's own scopes (GET/PUT/DELETE /v1/scopes); the built-in ones live in domain/scopes.ts. */
export interface TenantScopesTable {
  tenant_uid: string;
  name: string;
  description: string;
  created_at: number;
  updated_at: number;
}

export interface AuditsTable {
  seq: Generated<number>;
  uid: string;
  tenant_uid: string | null;
  at: number;
  action: string;
  actor_user_uid: string | null;
  actor_email: string | null;
  actor_api_key_uid: string | null;
  resource_kind: string;
  resource_uid: string | null;
  resource_name: string | null;
  /** The user a resource belongs to, so that plain users can read the audit of their own keys. */
  resource_owner_uid: string | null;
  address: string | null;
  details: string;
  /** For an entry that counts repeats (refused sign-ins): how many it stands for. */
  occurrences: number | null;
}

/** One guessing budget's count (see signInAttempts.ts). */
export interface SignInAttemptsTable {
  /** 'pair' (account and address), 'account' or 'address'. */
  scope: string;
  /** The email, the address, or both (pair), that the budget belongs to. */
  subject: string;
  failures: number;
  /** When the last attempt was counted: the delay runs from here. */
  last_at: number;
  /** The `last_at` before it, restored when that last attempt is given back. */
  prev_at: number | null;
}

/** A signed-in session: every token and cookie names one, and dies with it. */
export interface SessionsTable {
  uid: string;
  user_uid: string;
  /** Sign-in time. */
  created_at: number;
  /** Sign-in time plus the absolute lifetime: no token of the session is accepted after it. */
  expires_at: number;
}

export interface CredentialFailuresTable {
  address: string;
  window_start: number;
  failures: number;
}

/** A tenant's forward-auth route rules (domain/routeRules.ts), as one JSON document. */
export interface AuthRoutesTable {
  tenant_uid: string;
  /** JSON of RouteRules: {mode, default, rules}. */
  config: string;
  updated_at: number;
  updated_by_uid: string | null;
}

export interface Database {
  tenants: TenantsTable;
  users: UsersTable;
  api_keys: ApiKeysTable;
  audits: AuditsTable;
  sign_in_attempts: SignInAttemptsTable;
  sessions: SessionsTable;
  credential_failures: CredentialFailuresTable;
  tenant_scopes: TenantScopesTable;
  auth_routes: AuthRoutesTable;
}
