/**
 * A form's submission: busy while the request is out, and the server's refusal kept in words
 * for the person, in an alert at the top of the form.
 */
import { type FormEvent, useState } from 'react';

export function useSubmit(action: () => Promise<void>, describe: (err: Error) => string = (err) => err.message) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      await action();
    } catch (err) {
      setError(describe(err as Error));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, submit };
}

/** A refusal in words, as an alert; nothing when there is none. Forms and tables both use it. */
export function FormError(props: { error: string }) {
  if (!props.error) return null;
  return (
    <p role="alert" className="notice error">
      {props.error}
    </p>
  );
}
