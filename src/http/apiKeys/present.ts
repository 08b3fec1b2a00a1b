/** How an API key looks in a response. Lists every field: the key value is never among them. */
import { isExpired, toRfc3339 } from '../../domain/expiry.js';
import type { ApiKeyWithOwner } from '../../domain/model.js';

const optionalTime = (ms: number | null) => (ms === null ? undefined : toRfc3339(ms));

export function presentApiKey(k: ApiKeyWithOwner, now: number) {
  return {
    metadata: {
      uid: k.uid,
      name: k.name,
      annotations: { description: k.description },
      creationTimestamp: toRfc3339(k.createdAt),
      lastModifiedTimestamp: toRfc3339(k.updatedAt),
    },
    spec: {
      expiry: toRfc3339(k.expiry),
      user: { uid: k.userUid, firstName: k.owner.firstName, lastName: k.owner.lastName, emailId: k.owner.email },
      scopes: k.scopes,
      allowedCidrs: k.allowedCidrs,
    },
    status: {
      isActive: k.isActive,
      isExpired: isExpired(k.expiry, now),
      lastUsedTimestamp: optionalTime(k.lastUsedAt),
      revokedTimestamp: optionalTime(k.revokedAt),
      revokedBy: k.revokedByUid ?? undefined,
      revokedByAdmin: k.isActive ? undefined : k.revokedByAdmin,
      keyPrefix: k.start,
    },
  };
}
