/** A person's own password change (User Menu) and a tenant admin's reset of a user's password (Users). */
import { useState } from 'react';
import { api, type User } from '../api';
import { Dialog } from '../components/Dialog';
import { NewPasswordFields, requireConfirmed } from '../components/NewPasswordFields';
import { FormError, useSubmit } from '../components/useSubmit';

export function ChangePasswordDialog(props: { email: string; onClose: (changed: boolean) => void }) {
  const [current, setCurrent] = useState('');
  const [password, setPassword] = useState('');
  const [confirmation, setConfirmation] = useState('');
  const { busy, error, submit } = useSubmit(async () => {
    requireConfirmed(password, confirmation);
    // A wrong current password answers 401: that is this form's refusal, not a lost session,
    // so it must not send the person back to sign-in.
    await api('PATCH', '/v1/users/password/change', { emailId: props.email, currentPassword: current, newPassword: password }, { quiet401: true });
    props.onClose(true);
  });

  return (
    <Dialog title="Change password" onClose={() => props.onClose(false)}>
      <form onSubmit={submit}>
        <FormError error={error} />
        <label>
          Current password
          <input type="password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} />
        </label>
        <NewPasswordFields password={password} setPassword={setPassword} confirmation={confirmation} setConfirmation={setConfirmation} />
        <p className="muted">Your other sessions are signed out; this one stays. Your API keys keep working.</p>
        <div className="actions">
          <button type="button" onClick={() => props.onClose(false)}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            Change password
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function ResetPasswordDialog(props: { user: User; onClose: (done: boolean) => void }) {
  const [own, setOwn] = useState('');
  const [password, setPassword] = useState('');
  const [confirmation, setConfirmation] = useState('');
  const { busy, error, submit } = useSubmit(async () => {
    requireConfirmed(password, confirmation);
    // The admin's own password, wrong, answers 401: this form's refusal, not a lost session.
    await api('PATCH', `/v1/users/${props.user.metadata.uid}/password/reset`, { newPassword: password, currentPassword: own }, { quiet401: true });
    props.onClose(true);
  });

  return (
    <Dialog title={`Reset password for ${props.user.spec.emailId}`} onClose={() => props.onClose(false)}>
      <form onSubmit={submit}>
        <FormError error={error} />
        <label>
          Your password
          <input type="password" autoComplete="current-password" required value={own} onChange={(e) => setOwn(e.target.value)} />
        </label>
        <NewPasswordFields password={password} setPassword={setPassword} confirmation={confirmation} setConfirmation={setConfirmation} />
        <p className="muted">Every session of this user ends at once; they sign in again with the new password. Their API keys keep working.</p>
        <div className="actions">
          <button type="button" onClick={() => props.onClose(false)}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            Set password
          </button>
        </div>
      </form>
    </Dialog>
  );
}
