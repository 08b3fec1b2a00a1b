/**
 * The outcome of presenting an API key, as a value rather than an exception (after Unkey):
 * a failed verification is an ordinary result on the hot path, not an error.
 */
import type { AddressAllowlist } from './cidrs.js';
import { isExpired } from './expiry.js';
import type { ApiKey, Principal } from './model.js';

export type VerifyFailure = 'NOT_FOUND' | 'INACTIVE' | 'EXPIRED';
export type VerifyCode = 'VALID' | VerifyFailure;

/** What the store returns for a key hash: the key, and its owner as a principal. */
export interface KeyWithPrincipal {
  key: Pick<ApiKey, 'uid' | 'expiry' | 'isActive'> & {
    scopes: readonly string[];
    /** Built once when the record is read (and cached with it), not per request; absent: any address. */
    allowlist?: AddressAllowlist;
  };
  principal: Principal;
}

export type Verification =
  | { ok: true; code: 'VALID'; key: KeyWithPrincipal['key']; principal: Principal }
  | { ok: false; code: VerifyFailure; key?: KeyWithPrincipal['key']; principal?: Principal };

/** Expiry wins over revocation: an expired key cannot be brought back by re-activating it. */
export function evaluateKey(found: KeyWithPrincipal | undefined, now: number): Verification {
  if (!found) return { ok: false, code: 'NOT_FOUND' };
  const { key, principal } = found;
  if (isExpired(key.expiry, now)) return { ok: false, code: 'EXPIRED', key, principal };
  if (!key.isActive) return { ok: false, code: 'INACTIVE', key, principal };
  // Spelled out rather than spread: this runs on every request, and a literal of one shape is
  // several times cheaper for V8 than copying an object of whatever shape the store built.
  const { userUid, tenantUid, email, isAdmin } = principal;
  return {
    ok: true,
    code: 'VALID',
    key,
    principal: { userUid, tenantUid, email, isAdmin, apiKeyUid: key.uid, scopes: key.scopes, allowlist: key.allowlist },
  };
}
