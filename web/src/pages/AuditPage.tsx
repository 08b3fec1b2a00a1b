import { useEffect, useState } from 'react';
import { type AuditEntry, api } from '../api';
import type { Notice } from '../components/Notices';
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

export function AuditPage(props: { notify: (n: Notice) => void }) {
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const { notify } = props;

  useEffect(() => {
    api<{ items: AuditEntry[] }>('GET', '/v1/audits?limit=200')
      .then((res) => setEntries(res.items))
      .catch((err) => notify({ kind: 'error', text: `Could not load the audit log: ${(err as Error).message}` }));
  }, [notify]);

  return (
    <section aria-labelledby="audit-title" className="page">
      <div className="page-head">
        <h1 id="audit-title">Audit Logs</h1>
      </div>
      <div className="table-wrap">
        <table aria-labelledby="audit-title">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Action</th>
              <th scope="col">Resource</th>
              <th scope="col">By</th>
              <th scope="col">Address</th>
            </tr>
          </thead>
          <tbody>
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
          </tbody>
        </table>
      </div>
    </section>
  );
}
