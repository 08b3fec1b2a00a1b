/** What every use case is handed: who is acting, and from where. */
import { randomBytes } from 'node:crypto';
import type { Principal } from '../domain/model.js';
import type { AuditEntry } from '../store/audits.js';

export interface RequestContext {
  actor: Principal;
  /** The client's address, for the audit log. */
  address: string;
}

/** Palette-style uids: 24 lowercase hex characters. */
export const newUid = () => randomBytes(12).toString('hex');

export function auditEntry(
  ctx: { actor?: Principal; address: string },
  at: number,
  action: string,
  resource: AuditEntry['resource'],
  details: Record<string, unknown> = {},
  tenantUid = ctx.actor?.tenantUid ?? null,
): AuditEntry {
  return {
    uid: newUid(),
    tenantUid,
    at,
    action,
    actor: {
      userUid: ctx.actor?.userUid ?? null,
      email: ctx.actor?.email ?? null,
      apiKeyUid: ctx.actor?.apiKeyUid ?? null,
    },
    resource,
    address: ctx.address,
    details,
  };
}
