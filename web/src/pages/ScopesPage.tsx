/**
 * Tenant Settings → Scopes: the catalogue keys choose from. Keyward's own scopes are listed and
 * fixed; the tenant's own (for the services behind Keyward) are added, described and deleted
 * here. The server refuses to delete a scope a key still holds (409), and the page says so in
 * its words. After every action the table is read again, so it shows what is true.
 */
import { useCallback, useEffect, useId, useState } from 'react';
import { api, type Scope } from '../api';
import { DataTable } from '../components/DataTable';
import { ConfirmDialog, Dialog } from '../components/Dialog';
import { type Notice, runAndNotify } from '../components/Notices';
import { FormError, useSubmit } from '../components/useSubmit';
import { limits } from '../limits';
import { scopeNameProblem } from '../scopes';

const scopePath = (name: string) => `/v1/scopes/${encodeURIComponent(name)}`;

/** Add (no `scope`) or edit the description of one (`scope`): both are PUT /v1/scopes/{name}. */
function ScopeDialog(props: { scope?: Scope; existing: readonly Scope[]; onClose: (saved: string | null) => void }) {
  const editing = props.scope;
  const [name, setName] = useState(editing?.name ?? '');
  const [description, setDescription] = useState(editing?.description ?? '');
  const hintId = useId();
  const { busy, error, submit } = useSubmit(async () => {
    if (!editing) {
      // PUT would quietly rewrite a scope of that name: adding one is refused here instead.
      const problem = scopeNameProblem(name);
      if (problem) throw new Error(problem);
      if (props.existing.some((s) => s.name === name)) throw new Error(`A scope named "${name}" already exists. Edit its description in the table instead.`);
    }
    await api('PUT', scopePath(editing?.name ?? name), { description });
    props.onClose(editing?.name ?? name);
  });

  return (
    <Dialog title={editing ? `Edit scope ${editing.name}` : 'Add scope'} onClose={() => props.onClose(null)}>
      <form onSubmit={submit}>
        <FormError error={error} />
        {editing ? (
          <p>
            Scope <span className="mono">{editing.name}</span>
          </p>
        ) : (
          <>
            <label>
              Name
              <input
                required
                className="mono"
                spellCheck={false}
                minLength={limits.scope.name.minLength}
                maxLength={limits.scope.name.maxLength}
                aria-describedby={hintId}
                value={name}
                onChange={(e) => setName(e.target.value)}
              />
            </label>
            <p id={hintId} className="hint">
              resource:action or resource:*, such as orders:read; letters, digits, '_', '.' and '-'.
            </p>
          </>
        )}
        <label>
          Description
          <textarea maxLength={limits.scope.description.maxLength} value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
        <div className="actions">
          <button type="button" onClick={() => props.onClose(null)}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {editing ? 'Save' : 'Add'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

type Open = { kind: 'add' } | { kind: 'edit'; scope: Scope } | { kind: 'delete'; scope: Scope } | null;

export function ScopesPage(props: { notify: (n: Notice) => void }) {
  const { notify } = props;
  const [scopes, setScopes] = useState<Scope[] | null>(null);
  const [error, setError] = useState('');
  const [open, setOpen] = useState<Open>(null);

  const load = useCallback(async () => {
    try {
      setScopes((await api<{ items: Scope[] }>('GET', '/v1/scopes')).items);
      setError('');
    } catch (err) {
      setError((err as Error).message);
    }
  }, []);
  useEffect(() => void load(), [load]);

  const remove = async (scope: Scope) => {
    await runAndNotify(notify, () => api('DELETE', scopePath(scope.name)), `Deleted scope ${scope.name}.`, `Could not delete scope ${scope.name}`);
    setOpen(null);
    await load();
  };

  return (
    <section aria-labelledby="scopes-title" className="page">
      <div className="page-head">
        <h1 id="scopes-title">Scopes</h1>
        <button type="button" className="primary" onClick={() => setOpen({ kind: 'add' })}>
          Add scope
        </button>
      </div>
      <p className="muted">
        A key holds scopes, and may do only what they name. Keyward's own scopes guard its API; add your own for the services behind Keyward, which ask for them through verify or the
        forward-auth check.
      </p>
      <FormError error={error && `Could not load the scopes: ${error}`} />
      <DataTable labelledBy="scopes-title" columns={['Name', 'Description', 'Built-in']} actions message={scopes === null && !error && 'Loading…'}>
        {scopes?.map((s) => (
          <tr key={s.name}>
            <td className="mono">{s.name}</td>
            <td className="description">{s.description}</td>
            <td>{s.builtIn ? 'Yes' : 'No'}</td>
            <td className="row-actions">
              {/* Keyward's own scopes are part of its API: they are neither renamed nor removed. */}
              {!s.builtIn && (
                <>
                  <button type="button" className="link" aria-label={`Edit scope ${s.name}`} onClick={() => setOpen({ kind: 'edit', scope: s })}>
                    Edit
                  </button>
                  <button type="button" className="link danger" aria-label={`Delete scope ${s.name}`} onClick={() => setOpen({ kind: 'delete', scope: s })}>
                    Delete
                  </button>
                </>
              )}
            </td>
          </tr>
        ))}
      </DataTable>
      {(open?.kind === 'add' || open?.kind === 'edit') && (
        <ScopeDialog
          scope={open.kind === 'edit' ? open.scope : undefined}
          existing={scopes ?? []}
          onClose={(saved) => {
            if (saved) notify({ kind: 'status', text: open.kind === 'add' ? `Added scope ${saved}.` : `Saved scope ${saved}.` });
            setOpen(null);
            void load();
          }}
        />
      )}
      {open?.kind === 'delete' && (
        <ConfirmDialog
          title="Delete scope"
          message={`Delete scope ${open.scope.name}? Keys can no longer be given it. A scope a key still holds cannot be deleted.`}
          confirmLabel="Delete"
          onCancel={() => setOpen(null)}
          onConfirm={() => void remove(open.scope)}
        />
      )}
    </section>
  );
}
