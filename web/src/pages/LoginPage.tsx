import { type FormEvent, useState } from 'react';
import { ApiError, api } from '../api';

export function LoginPage(props: { notice?: string; onSignedIn: () => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      await api('POST', '/v1/auth/authenticate?setCookie=true', { emailId: email, password }, { quiet401: true });
      props.onSignedIn();
    } catch (err) {
      const e = err as ApiError;
      setError(
        e.status === 401
          ? 'The email or password is incorrect.'
          : e.status === 429
            ? `This account is locked for now after too many failed sign-ins. ${e.message}`
            : e.message,
      );
      setBusy(false);
    }
  };

  return (
    <main className="login">
      <form className="card" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Sign in to Keyward</h1>
        {props.notice && !error && (
          <p role="status" className="notice status">
            {props.notice}
          </p>
        )}
        {error && (
          <p role="alert" className="notice error">
            {error}
          </p>
        )}
        <label>
          Email
          <input type="email" name="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label>
          Password
          <input type="password" name="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <button type="submit" className="primary" disabled={busy}>
          Log in
        </button>
      </form>
    </main>
  );
}
