/**
 * A new password and its confirmation, for every form that sets one. The server's policy
 * (src/domain/passwordPolicy.ts) is the authority and names the rule a password breaks: the
 * console only hints at the length and catches a mistyped confirmation before anything is sent.
 */
import { useId } from 'react';
import { limits } from '../limits';

/** The policy's minimum, from the one module of limits the server's policy reads too. */
export const PASSWORD_MIN_LENGTH = limits.password.minLength;

export const PASSWORD_HINT = `At least ${PASSWORD_MIN_LENGTH} characters, and neither the email address nor its name part.`;

/** Throws the refusal in words when the two entries differ; the form shows it as its error. */
export function requireConfirmed(password: string, confirmation: string): void {
  if (password !== confirmation) throw new Error('The new password and its confirmation do not match. Type the same password in both.');
}

export function NewPasswordFields(props: { password: string; setPassword: (v: string) => void; confirmation: string; setConfirmation: (v: string) => void }) {
  const hintId = useId();
  return (
    <>
      <label>
        New password
        <input
          type="password"
          autoComplete="new-password"
          required
          aria-describedby={hintId}
          value={props.password}
          onChange={(e) => props.setPassword(e.target.value)}
        />
      </label>
      <p id={hintId} className="hint">
        {PASSWORD_HINT}
      </p>
      <label>
        Confirm new password
        <input type="password" autoComplete="new-password" required value={props.confirmation} onChange={(e) => props.setConfirmation(e.target.value)} />
      </label>
    </>
  );
}
