import { useState } from 'react';
import { type ApiError, api } from '../api';
import { FormError, useSubmit } from '../components/useSubmit';

export function LoginPage(props: { notice?: string; onSignedIn: () => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, submit } = useSubmit(
    async () => {
      await api('POST', '/v1/auth/authenticate?setCookie=true', { emailId: email, password }, { quiet401: true });
      props.onSignedIn();
    },
    (err) => {
      const e = err as ApiError;
      if (e.status === 401) return 'The email or password is incorrect.';
      if (e.status === 429) return `Sign-in is paused after too many failed attempts. ${e.message}`;
      return e.message;
    },
  );

  return (
    <main className="login">
      <form className="card" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Sign in to Keyward</h1>
        {props.notice && !error && (
          <p role="status" className="notice status">
            {props.notice}
          </p>
        )}
        <FormError error={error} />
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
