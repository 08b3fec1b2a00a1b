import type { AuditEntry } from '../store/audits.js';
import { decodeContinue, type Page } from '../store/paging.js';
import type { Store } from '../store/store.js';
import type { RequestContext } from './context.js';

export class AuditService {
  constructor(private readonly store: Store) {}

  /** Tenant admins read their tenant's log; anyone else what they did and what was done to their keys. */
  list(ctx: RequestContext, query: { resourceUid?: string; limit: number; continue?: string }): Promise<Page<AuditEntry> & { count: number }> {
    return this.store.audits.list(
      {
        tenantUid: ctx.actor.tenantUid,
        involving: ctx.actor.isAdmin ? undefined : ctx.actor.userUid,
        resourceUid: query.resourceUid,
      },
      { limit: query.limit, after: decodeContinue(query.continue) },
    );
  }
}
