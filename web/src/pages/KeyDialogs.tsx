/** Create and edit dialogs for API keys. */
import { useState } from 'react';
import { type ApiKey, api } from '../api';
import { Dialog } from '../components/Dialog';
import { cidrsOf, initialAccess, KeyAccessFields, sameNames, scopesOf } from '../components/KeyAccessFields';
import { type PickedUser, UserPicker } from '../components/UserPicker';
import { FormError, useSubmit } from '../components/useSubmit';
import { formatDate } from '../format';
import { limits } from '../limits';

const PRESETS = [7, 30, 60, 90];
const DAY = 86_400_000;

/** The expiry the form asks for, as RFC 3339; a custom date means the end of that day, locally. */
function expiryFrom(choice: string, customDate: string): string | undefined {
  if (choice === 'keep') return undefined;
  if (choice === 'custom') {
    const [y, m, d] = customDate.split('-').map(Number);
    return new Date(y, m - 1, d, 23, 59, 59).toISOString();
  }
  return new Date(Date.now() + Number(choice) * DAY).toISOString();
}

function ExpiryField(props: { choice: string; setChoice: (c: string) => void; custom: string; setCustom: (c: string) => void; current?: string }) {
  return (
    <>
      <label>
        Expiration Date
        <select value={props.choice} onChange={(e) => props.setChoice(e.target.value)}>
          {props.current && <option value="keep">Keep {formatDate(props.current)}</option>}
          {PRESETS.map((d) => (
            <option key={d} value={String(d)}>
              {d} days
            </option>
          ))}
          <option value="custom">Custom</option>
        </select>
      </label>
      {props.choice === 'custom' && (
        <label>
          Custom expiration date
          <input type="date" required value={props.custom} min={formatDate(new Date(Date.now() + DAY).toISOString())} onChange={(e) => props.setCustom(e.target.value)} />
        </label>
      )}
    </>
  );
}

/** The fields create and edit share, with the server's limits. */
function NameFields(props: { name: string; setName: (v: string) => void; description: string; setDescription: (v: string) => void }) {
  return (
    <>
      <label>
        API Key Name
        <input required minLength={limits.apiKey.name.minLength} maxLength={limits.apiKey.name.maxLength} value={props.name} onChange={(e) => props.setName(e.target.value)} />
      </label>
      <label>
        Description
        <textarea maxLength={limits.apiKey.description.maxLength} value={props.description} onChange={(e) => props.setDescription(e.target.value)} />
      </label>
    </>
  );
}

/** `pickOwner`: a tenant admin may make the key for any user of the tenant; it is theirs by default. */
export function CreateKeyDialog(props: { pickOwner: boolean; self: PickedUser; onClose: (created: boolean) => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [owner, setOwner] = useState<PickedUser>(props.self);
  const [choice, setChoice] = useState('30');
  const [custom, setCustom] = useState('');
  const [access, setAccess] = useState(initialAccess);
  const [created, setCreated] = useState<string | null>(null);
  const [copied, setCopied] = useState('');

  const { busy, error, submit } = useSubmit(async () => {
    const res = await api<{ apiKey: string }>('POST', '/v1/apiKeys', {
      metadata: { name, annotations: { description } },
      spec: { expiry: expiryFrom(choice, custom), userUid: owner.uid, scopes: scopesOf(access), allowedCidrs: cidrsOf(access) },
    });
    setCreated(res.apiKey);
  });

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created ?? '');
      setCopied('Copied to the clipboard.');
    } catch {
      setCopied('Could not copy: select the key and copy it yourself.');
    }
  };

  if (created) {
    return (
      <Dialog title="API key created" onClose={() => props.onClose(true)}>
        <p className="warning">Copy this key now. It will not be shown again.</p>
        <label>
          API Key
          <input readOnly value={created} className="mono" onFocus={(e) => e.target.select()} />
        </label>
        <p role="status" className="copied">
          {copied}
        </p>
        <div className="actions">
          <button type="button" onClick={copy}>
            Copy
          </button>
          <button type="button" className="primary" onClick={() => props.onClose(true)}>
            Done
          </button>
        </div>
      </Dialog>
    );
  }

  return (
    <Dialog title="Add New API key" onClose={() => props.onClose(false)}>
      <form onSubmit={submit}>
        <NameFields name={name} setName={setName} description={description} setDescription={setDescription} />
        {props.pickOwner && <UserPicker label="User Name" value={owner} onChange={(u) => setOwner(u ?? props.self)} />}
        <ExpiryField choice={choice} setChoice={setChoice} custom={custom} setCustom={setCustom} />
        <KeyAccessFields value={access} onChange={setAccess} />
        {/* Beside the button that was pressed: the form is long, and the refusal is read where the eyes are. */}
        <FormError error={error} />
        <div className="actions">
          <button type="button" onClick={() => props.onClose(false)}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            Generate
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function EditKeyDialog(props: { apiKey: ApiKey; onClose: (saved: boolean) => void }) {
  const k = props.apiKey;
  const [name, setName] = useState(k.metadata.name);
  const [description, setDescription] = useState(k.metadata.annotations?.description ?? '');
  const [choice, setChoice] = useState('keep');
  const [custom, setCustom] = useState('');
  const [initial] = useState(() => initialAccess(k));
  const [access, setAccess] = useState(initial);
  const { busy, error, submit } = useSubmit(async () => {
    // Scopes and addresses go only when changed (absent = unchanged): saving a new name never
    // rewrites what the key may do.
    const scopes = scopesOf(access);
    const cidrs = cidrsOf(access);
    await api('PUT', `/v1/apiKeys/${k.metadata.uid}`, {
      metadata: { name, annotations: { description } },
      spec: {
        expiry: expiryFrom(choice, custom),
        ...(sameNames(scopes, scopesOf(initial)) ? {} : { scopes }),
        ...(sameNames(cidrs, cidrsOf(initial)) ? {} : { allowedCidrs: cidrs }),
      },
    });
    props.onClose(true);
  });

  return (
    <Dialog title={`Edit API key ${k.metadata.name}`} onClose={() => props.onClose(false)}>
      <form onSubmit={submit}>
        <NameFields name={name} setName={setName} description={description} setDescription={setDescription} />
        <ExpiryField choice={choice} setChoice={setChoice} custom={custom} setCustom={setCustom} current={k.spec.expiry} />
        <KeyAccessFields value={access} onChange={setAccess} />
        {/* Beside the button that was pressed: the form is long, and the refusal is read where the eyes are. */}
        <FormError error={error} />
        <div className="actions">
          <button type="button" onClick={() => props.onClose(false)}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            Save
          </button>
        </div>
      </form>
    </Dialog>
  );
}
