/** The records Keyward works with. Times are epoch milliseconds, UTC. */
import type { AddressAllowlist } from './cidrs.js';

export const TENANT_ADMIN_ROLE = 'tenant-admin';

export interface Tenant {
  uid: string;
  name: string;
  createdAt: number;
}

/**
 * A person signs in with a password. A service account (an automation, a CI job, a backend)
 * has no password and never signs in: it only owns API keys, which a tenant admin makes for it,
 * so that keys need not belong to a person who may leave.
 */
export const USER_KINDS = ['person', 'service'] as const;
export type UserKind = (typeof USER_KINDS)[number];

export interface User {
  uid: string;
  kind: UserKind;
  tenantUid: string;
  email: string;
  firstName: string;
  lastName: string;
  roles: string[];
  createdAt: number;
  updatedAt: number;
  lastSignInAt: number | null;
}

export interface ApiKey {
  uid: string;
  tenantUid: string;
  userUid: string;
  name: string;
  description: string;
  /** The first characters of the key, for display; never enough to use it. */
  start: string;
  expiry: number;
  isActive: boolean;
  revokedAt: number | null;
  revokedByUid: string | null;
  /** Set when a tenant admin revoked the key: only a tenant admin may re-activate it then. */
  revokedByAdmin: boolean;
  createdAt: number;
  updatedAt: number;
  lastUsedAt: number | null;
  /** Scope names (domain/scopes.ts): what the key may do, within its owner's role. `["*"]`: all of it. */
  scopes: string[];
  /** Normalised CIDRs the key may be used from; empty: any address. */
  allowedCidrs: string[];
}

/** An API key with the owner fields that listings show. */
export interface ApiKeyWithOwner extends ApiKey {
  owner: { firstName: string; lastName: string; email: string };
}

/** Who is making a request: a signed-in user, or an API key acting as its owner. */
export interface Principal {
  userUid: string;
  tenantUid: string;
  email: string;
  isAdmin: boolean;
  /** Present when the request authenticated with an API key. */
  apiKeyUid?: string;
  /**
   * The key's scopes, when the request authenticated with an API key; absent for a session (a
   * person has their role's full power). What the caller may do is its role intersected with these.
   */
  scopes?: readonly string[];
  /** The key's address allowlist, when it has one: a key it creates or changes must stay inside it. */
  allowlist?: AddressAllowlist;
}

export const isTenantAdmin = (roles: readonly string[]) => roles.includes(TENANT_ADMIN_ROLE);
