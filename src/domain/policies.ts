/**
 * Who may do what. Pure functions over records; the service layer calls them and turns a
 * refusal into the error the contract names. A key the caller may not see is reported as
 * not found, never as forbidden, so that its existence is not revealed.
 */
import type { ApiKey, Principal, User } from './model.js';

/** Tenant admins see every key of their tenant; everyone else only their own. */
export function canSeeKey(actor: Principal, key: Pick<ApiKey, 'tenantUid' | 'userUid'>): boolean {
  return key.tenantUid === actor.tenantUid && (actor.isAdmin || key.userUid === actor.userUid);
}

export function canSeeUser(actor: Principal, user: Pick<User, 'tenantUid' | 'uid'>): boolean {
  return user.tenantUid === actor.tenantUid && (actor.isAdmin || user.uid === actor.userUid);
}

/** A key a tenant admin revoked stays revoked until a tenant admin re-activates it. */
export function mayReactivate(actor: Principal, key: Pick<ApiKey, 'revokedByAdmin'>): boolean {
  return actor.isAdmin || !key.revokedByAdmin;
}

/**
 * Which user a new key is for. Palette's Go SDK sends the tenant uid as `spec.userUid`, and
 * other clients send nothing or the caller's own uid: all of those mean the caller.
 */
export function keyOwnerRequest(
  actor: Principal,
  requestedUserUid: string | undefined,
): { self: true } | { self: false; userUid: string } {
  if (!requestedUserUid || requestedUserUid === actor.userUid || requestedUserUid === actor.tenantUid) {
    return { self: true };
  }
  return { self: false, userUid: requestedUserUid };
}
