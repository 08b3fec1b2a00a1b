import type { AuditEntry } from '../api';
import { DataTable } from '../components/DataTable';
import { ShowMore, usePagedList } from '../components/usePagedList';
import { FormError } from '../components/useSubmit';
import { formatDateTime } from '../format';

const ACTIONS: Record<string, string> = {
  'apiKey.create': 'Created API key',
  'apiKey.update': 'Edited API key',
  'apiKey.revoke': 'Revoked API key',
  'apiKey.activate': 'Re-activated API key',
  'apiKey.delete': 'Deleted API key',
  'user.create': 'Created user',
  'user.delete': 'Deleted user',
  'tenant.create': 'Created tenant',
  'auth.signInFailed': 'Failed sign-in',
};

/** The tenant's audit log, newest first, 50 entries at a time. */
export function AuditPage() {
  const list = usePagedList<AuditEntry>('/v1/audits');
  const entries = list.items;

  return (
    <section aria-labelledby="audit-title" className="page">
      <div className="page-head">
        <h1 id="audit-title">Audit Logs</h1>
      </div>
      <FormError error={list.error && `Could not load the audit log: ${list.error}`} />
      <DataTable labelledBy="audit-title" columns={['Time', 'Action', 'Resource', 'By', 'Address']}>
        {entries?.map((e) => (
          <tr key={e.metadata.uid}>
            <td>{formatDateTime(e.metadata.creationTimestamp)}</td>
            <td>{ACTIONS[e.spec.action] ?? e.spec.action}</td>
            <td>{e.spec.resource.name}</td>
            <td>
              {e.spec.actor.emailId ?? '—'}
              {e.spec.actor.apiKeyUid && <span className="muted"> (with an API key)</span>}
            </td>
            <td>{e.spec.address}</td>
          </tr>
        ))}
      </DataTable>
      {entries && list.hasMore && <ShowMore shown={entries.length} total={list.total} noun="audit entries" onClick={() => void list.showMore()} />}
    </section>
  );
}
