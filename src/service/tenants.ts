import type { Store } from '../store/store.js';

/**
 * Tenant names by uid, remembered once read: `GET /v1/users/info` is what API clients call to
 * check their key, and a tenant's name never changes (there is no rename), so it need not cost a
 * database round trip each time.
 */
export class TenantNames {
  private readonly names = new Map<string, string>();

  constructor(private readonly store: Store) {}

  /** The name at once when known, which is nearly always: no promise on that path. */
  of(tenantUid: string): string | Promise<string> {
    return this.names.get(tenantUid) ?? this.read(tenantUid);
  }

  private async read(tenantUid: string): Promise<string> {
    const tenant = await this.store.tenants.findByUid(tenantUid);
    if (tenant) this.names.set(tenantUid, tenant.name);
    return tenant?.name ?? '';
  }
}
