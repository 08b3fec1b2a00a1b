import { useId, useState } from 'react';
import { api, isServiceAccount, type User } from '../api';
import { DataTable } from '../components/DataTable';
import { ConfirmDialog, Dialog } from '../components/Dialog';
import { type Notice, runAndNotify } from '../components/Notices';
import { NEWEST_FIRST, ShowMore, usePagedList } from '../components/usePagedList';
import { FormError, useSubmit } from '../components/useSubmit';
import { formatDateTime, fullName } from '../format';
import { limits } from '../limits';
import type { Session } from '../session';
import { ResetPasswordDialog } from './PasswordDialogs';

/**
 * A person, or a service account: a user for an automation, with no password (it cannot sign
 * in) whose keys a tenant admin makes for it in Tenant Settings → API Keys.
 */
function AddUserDialog(props: { onClose: (created: { email: string; service: boolean } | null) => void }) {
  const [email, setEmail] = useState('');
  const [firstName, setFirstName] = useState('');
  const [lastName, setLastName] = useState('');
  const [password, setPassword] = useState('');
  const [service, setService] = useState(false);
  const [admin, setAdmin] = useState(false);
  const hintId = useId();
  const { busy, error, submit } = useSubmit(async () => {
    await api('POST', '/v1/users', {
      metadata: { name: `${firstName} ${lastName}`.trim() },
      spec: service
        ? { emailId: email, firstName, lastName, roles: admin ? ['tenant-admin'] : [], kind: 'service' }
        : { emailId: email, firstName, lastName, roles: admin ? ['tenant-admin'] : [], password: password || undefined },
    });
    props.onClose({ email, service });
  });

  return (
    <Dialog title="Add User" onClose={() => props.onClose(null)}>
      <form onSubmit={submit}>
        <FormError error={error} />
        <label>
          Email
          <input type="email" required maxLength={limits.user.email.maxLength} value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label>
          First Name
          <input maxLength={limits.user.name.maxLength} value={firstName} onChange={(e) => setFirstName(e.target.value)} />
        </label>
        <label>
          Last Name
          <input maxLength={limits.user.name.maxLength} value={lastName} onChange={(e) => setLastName(e.target.value)} />
        </label>
        <label className="check">
          <input type="checkbox" checked={service} aria-describedby={hintId} onChange={(e) => setService(e.target.checked)} />
          Service account
        </label>
        <p id={hintId} className="hint">
          For an automation: no password and no sign-in. Give it API keys from Tenant Settings → API Keys.
        </p>
        {!service && (
          <label>
            Password
            <input type="password" autoComplete="new-password" minLength={limits.password.minLength} maxLength={limits.password.maxLength} value={password} onChange={(e) => setPassword(e.target.value)} />
          </label>
        )}
        <label className="check">
          <input type="checkbox" checked={admin} onChange={(e) => setAdmin(e.target.checked)} />
          Tenant admin
        </label>
        <div className="actions">
          <button type="button" onClick={() => props.onClose(null)}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            Create
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function UsersPage(props: { session: Session; notify: (n: Notice) => void }) {
  const { notify } = props;
  const list = usePagedList<User>(`/v1/users?${NEWEST_FIRST}`);
  const { items: users, reload: load } = list;
  const [adding, setAdding] = useState(false);
  const [deleting, setDeleting] = useState<User | null>(null);
  const [resetting, setResetting] = useState<User | null>(null);

  const remove = async (user: User) => {
    await runAndNotify(notify, () => api('DELETE', `/v1/users/${user.metadata.uid}`), `Deleted user ${user.spec.emailId} and their API keys.`, `Could not delete user ${user.spec.emailId}`);
    setDeleting(null);
    await load();
  };

  return (
    <section aria-labelledby="users-title" className="page">
      <div className="page-head">
        <h1 id="users-title">Users</h1>
        <button type="button" className="primary" onClick={() => setAdding(true)}>
          Add User
        </button>
      </div>
      <FormError error={list.error && `Could not load the users: ${list.error}`} />
      <DataTable labelledBy="users-title" columns={['Name', 'Email', 'Kind', 'Role', 'Last Sign-in']} actions>
        {users?.map((u) => (
          <tr key={u.metadata.uid}>
            <td>{fullName(u.spec)}</td>
            <td>{u.spec.emailId}</td>
            <td>{isServiceAccount(u) ? <span className="badge service">Service account</span> : 'Person'}</td>
            <td>{u.spec.roles.includes('tenant-admin') ? 'Tenant admin' : 'User'}</td>
            <td>{isServiceAccount(u) ? <span className="muted">Cannot sign in</span> : formatDateTime(u.status.lastSignIn)}</td>
            <td className="row-actions">
              {/* Not on the admin's own row: a reset ends every session, this one too; Change password in the User Menu keeps it. */}
              {u.metadata.uid !== props.session.userUid && (
                <>
                  {/* A service account has no password to reset. */}
                  {!isServiceAccount(u) && (
                    <button type="button" className="link" aria-label={`Reset password for ${u.spec.emailId}`} onClick={() => setResetting(u)}>
                      Reset password
                    </button>
                  )}
                  <button type="button" className="link danger" aria-label={`Delete user ${u.spec.emailId}`} onClick={() => setDeleting(u)}>
                    Delete
                  </button>
                </>
              )}
            </td>
          </tr>
        ))}
      </DataTable>
      {users && list.hasMore && <ShowMore shown={users.length} total={list.total} noun="users" onClick={() => void list.showMore()} />}
      {adding && (
        <AddUserDialog
          onClose={(created) => {
            setAdding(false);
            if (created) notify({ kind: 'status', text: created.service ? `Created service account ${created.email}.` : `Created user ${created.email}.` });
            void load();
          }}
        />
      )}
      {resetting && (
        <ResetPasswordDialog
          user={resetting}
          onClose={(done) => {
            if (done) notify({ kind: 'status', text: `Set a new password for ${resetting.spec.emailId}. Their sessions were ended: they sign in again with the new password.` });
            setResetting(null);
          }}
        />
      )}
      {deleting && (
        <ConfirmDialog
          title="Delete user"
          message={`Delete ${deleting.spec.emailId}? Their API keys stop working at once. This cannot be undone.`}
          confirmLabel="Delete"
          onCancel={() => setDeleting(null)}
          onConfirm={() => void remove(deleting)}
        />
      )}
    </section>
  );
}
