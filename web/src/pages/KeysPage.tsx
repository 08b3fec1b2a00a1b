/**
 * The key table: My API Keys (your own keys) or, in the Tenant Admin scope, every key of the
 * tenant. After every action the table is read again from the server, so what it shows is
 * what is true, also when an action fails.
 */
import { useState } from 'react';
import { type ApiKey, api } from '../api';
import { DataTable } from '../components/DataTable';
import { ConfirmDialog } from '../components/Dialog';
import { Menu } from '../components/Menu';
import { NEWEST_FIRST, ShowMore, usePagedList } from '../components/usePagedList';
import { type PickedUser, UserPicker } from '../components/UserPicker';
import { FormError } from '../components/useSubmit';
import { type Notice, runAndNotify } from '../components/Notices';
import { formatDate, formatDateTime, fullName } from '../format';
import { describeScopes } from '../scopes';
import type { Session } from '../session';
import { CreateKeyDialog, EditKeyDialog } from './KeyDialogs';

type Open = { kind: 'create' } | { kind: 'edit'; key: ApiKey } | { kind: 'delete'; key: ApiKey } | null;

export function KeysPage(props: { scope: 'user' | 'tenant'; session: Session; notify: (n: Notice) => void }) {
  const { scope, session, notify } = props;
  /** The tenant table's filter: one user's keys, or (null) everyone's. */
  const [filter, setFilter] = useState<PickedUser | null>(null);
  const [open, setOpen] = useState<Open>(null);
  const userUid = scope === 'user' ? session.userUid : filter?.uid;
  const list = usePagedList<ApiKey>(`/v1/apiKeys?${NEWEST_FIRST}${userUid ? `&userUid=${encodeURIComponent(userUid)}` : ''}`);
  const { items: keys, reload: load } = list;

  const setActive = async (key: ApiKey, isActive: boolean) => {
    const name = key.metadata.name;
    await runAndNotify(
      notify,
      () => api('PATCH', `/v1/apiKeys/${key.metadata.uid}`, { isActive }),
      isActive ? `Re-activated API key ${name}.` : `Revoked API key ${name}. It can no longer be used.`,
      `Could not ${isActive ? 're-activate' : 'revoke'} API key ${name}`,
    );
    await load();
  };

  const remove = async (key: ApiKey) => {
    await runAndNotify(notify, () => api('DELETE', `/v1/apiKeys/${key.metadata.uid}`), `Deleted API key ${key.metadata.name}.`, `Could not delete API key ${key.metadata.name}`);
    setOpen(null);
    await load();
  };

  const title = scope === 'user' ? 'My API Keys' : 'API Keys';
  // Allowed addresses only when a key shown has some: most keys work from anywhere, and the table
  // keeps its actions in view without a sideways scroll.
  const showCidrs = keys?.some((k) => (k.spec.allowedCidrs?.length ?? 0) > 0) ?? false;
  return (
    <section aria-labelledby="keys-title" className="page">
      <div className="page-head">
        <h1 id="keys-title">{title}</h1>
        <button type="button" className="primary" onClick={() => setOpen({ kind: 'create' })}>
          Add New API key
        </button>
      </div>
      {scope === 'tenant' && <UserPicker label="Show keys of" emptyLabel="All users" inline value={filter} onChange={setFilter} />}
      <FormError error={list.error && `Could not load the API keys: ${list.error}`} />
      <DataTable
        labelledBy="keys-title"
        columns={['Name', 'Description', scope === 'tenant' && 'User Name', 'Expiration Date', 'Active', 'Last Used', 'Scopes', showCidrs && 'Allowed addresses']}
        actions
        message={keys === null && !list.error ? 'Loading…' : keys?.length === 0 && 'No API keys yet. Add one to get started.'}
      >
        {keys?.map((k) => (
          <tr key={k.metadata.uid}>
            <td>{k.metadata.name}</td>
            <td className="description">{k.metadata.annotations?.description}</td>
            {scope === 'tenant' && <td>{fullName(k.spec.user)}</td>}
            <td>
              {formatDate(k.spec.expiry)}
              {k.status.isExpired && <span className="badge expired">Expired</span>}
            </td>
            <td>
              <span className={`badge ${k.status.isActive ? 'active' : 'inactive'}`}>{k.status.isActive ? 'Active' : 'Inactive'}</span>
            </td>
            <td>{formatDateTime(k.status.lastUsedTimestamp)}</td>
            <td className="scopes-cell">{describeScopes(k.spec.scopes)}</td>
            {showCidrs && <td className="cidrs-cell">{k.spec.allowedCidrs?.length ? k.spec.allowedCidrs.join(', ') : <span className="muted">Any</span>}</td>}
            <td className="row-actions">
              <Menu
                label={`Actions for ${k.metadata.name}`}
                buttonContent={<span aria-hidden="true">⋮</span>}
                items={[
                  { label: 'Edit', onSelect: () => setOpen({ kind: 'edit', key: k }) },
                  k.status.isActive
                    ? { label: 'Revoke', onSelect: () => void setActive(k, false) }
                    : { label: 'Re-activate', onSelect: () => void setActive(k, true) },
                  { label: 'Delete', onSelect: () => setOpen({ kind: 'delete', key: k }) },
                ]}
              />
            </td>
          </tr>
        ))}
      </DataTable>
      {keys && list.hasMore && <ShowMore shown={keys.length} total={list.total} noun="API keys" onClick={() => void list.showMore()} />}
      {open?.kind === 'create' && (
        <CreateKeyDialog
          pickOwner={scope === 'tenant'}
          self={{ uid: session.userUid, label: `${session.name} (${session.email})` }}
          onClose={(created) => {
            setOpen(null);
            if (created) void load();
          }}
        />
      )}
      {open?.kind === 'edit' && (
        <EditKeyDialog
          apiKey={open.key}
          onClose={(saved) => {
            setOpen(null);
            if (saved) notify({ kind: 'status', text: `Saved API key ${open.key.metadata.name}.` });
            void load();
          }}
        />
      )}
      {open?.kind === 'delete' && (
        <ConfirmDialog
          title="Delete API key"
          message={`Delete API key ${open.key.metadata.name}? Anything using it will stop working. This cannot be undone.`}
          confirmLabel="Delete"
          onCancel={() => setOpen(null)}
          onConfirm={() => void remove(open.key)}
        />
      )}
    </section>
  );
}
