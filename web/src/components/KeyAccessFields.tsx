/**
 * What a key may do and from where, for the create and edit forms: `Scopes` (three choices:
 * Full access, Read only, or a checklist of the catalogue) and `Allowed addresses` (one CIDR a
 * line). The server is the authority on both: it names an unknown scope or a bad CIDR, and the
 * form shows its words. The form only keeps to the limits the server would refuse anyway.
 */
import { useEffect, useId, useState } from 'react';
import { type ApiKey, api, type Scope } from '../api';
import { limits } from '../limits';
import { FULL_ACCESS, presetOf, READ_ONLY_SCOPES, type ScopePreset } from '../scopes';
import { FormError } from './useSubmit';

export interface KeyAccess {
  preset: ScopePreset;
  /** The ticked names while the preset is `chosen` (kept when another preset is picked and back). */
  chosen: string[];
  /** The text area as typed. */
  cidrs: string;
}

/** The form's first values: a new key has full access from anywhere; an edited one what it has. */
export function initialAccess(key?: ApiKey): KeyAccess {
  const scopes = key?.spec.scopes;
  const preset = presetOf(scopes);
  return { preset, chosen: preset === 'chosen' && scopes ? [...scopes] : [], cidrs: (key?.spec.allowedCidrs ?? []).join('\n') };
}

/** The scopes the form asks for. */
export function scopesOf(access: KeyAccess): string[] {
  if (access.preset === 'full') return [...FULL_ACCESS];
  if (access.preset === 'readOnly') return [...READ_ONLY_SCOPES];
  return access.chosen;
}

/** The CIDRs the form asks for: one a line, blank lines and spaces around dropped. */
export function cidrsOf(access: KeyAccess): string[] {
  const cidrs = access.cidrs
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const max = limits.apiKey.allowedCidrs.maxItems;
  if (cidrs.length > max) throw new Error(`A key takes at most ${max} allowed addresses; there are ${cidrs.length}. Use wider ranges (CIDRs) to cover them.`);
  return cidrs;
}

/** Same names in any order: an edit that changes nothing here sends nothing. */
export function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');
}

const PRESETS: { value: ScopePreset; label: string; hint: string }[] = [
  { value: 'full', label: 'Full access', hint: "Everything the key's owner may do." },
  { value: 'readOnly', label: 'Read only', hint: `Reads API keys, users and the audit log, and changes nothing (${READ_ONLY_SCOPES.join(', ')}).` },
  { value: 'chosen', label: 'Choose scopes', hint: 'Only the scopes ticked below. A key never does more than its owner may.' },
];

/** The catalogue: Keyward's own scopes and the tenant's, read once when the checklist opens. */
function useScopeCatalogue() {
  const [state, setState] = useState<{ scopes: Scope[] | null; error: string }>({ scopes: null, error: '' });
  useEffect(() => {
    const controller = new AbortController();
    api<{ items: Scope[] }>('GET', '/v1/scopes', undefined, { signal: controller.signal })
      .then((res) => setState({ scopes: res.items, error: '' }))
      .catch((err: Error) => {
        if (!controller.signal.aborted) setState({ scopes: null, error: err.message });
      });
    return () => controller.abort();
  }, []);
  return state;
}

function ScopeChecklist(props: { chosen: string[]; onChange: (chosen: string[]) => void }) {
  const { chosen, onChange } = props;
  const id = useId();
  const { scopes, error } = useScopeCatalogue();
  const max = limits.apiKey.scopes.maxItems;
  const full = chosen.length >= max;
  if (error) return <FormError error={`Could not load the scopes: ${error}`} />;
  if (!scopes) return <p className="muted">Loading scopes…</p>;
  // A name the key holds that the catalogue does not list (such as `orders:*`) stays visible and ticked.
  const listed = new Set(scopes.map((s) => s.name));
  const options = [...scopes, ...chosen.filter((name) => !listed.has(name)).map((name) => ({ name, description: '', builtIn: false }))];
  const toggle = (name: string, on: boolean) => onChange(on ? [...chosen, name] : chosen.filter((n) => n !== name));
  return (
    <div className="scope-list">
      {options.map((s, i) => {
        const checked = chosen.includes(s.name);
        return (
          <div key={s.name} className="scope-option">
            <input
              id={`${id}-${i}`}
              type="checkbox"
              checked={checked}
              disabled={!checked && full}
              aria-describedby={s.description ? `${id}-${i}-description` : undefined}
              onChange={(e) => toggle(s.name, e.target.checked)}
            />
            {/* The name alone labels the box (what a person and a test look for); the description describes it. */}
            <label htmlFor={`${id}-${i}`} className="mono">
              {s.name}
            </label>
            {s.description && (
              <span id={`${id}-${i}-description`} className="scope-description">
                {s.description}
              </span>
            )}
          </div>
        );
      })}
      <p role="status" className="hint">
        {full
          ? `A key holds at most ${max} scopes.`
          : chosen.length === 0
            ? 'None chosen: the key proves who it is, and passes only checks that require no scope.'
            : `${chosen.length} chosen.`}
      </p>
    </div>
  );
}

export function KeyAccessFields(props: { value: KeyAccess; onChange: (value: KeyAccess) => void }) {
  const { value, onChange } = props;
  const id = useId();
  return (
    <>
      <fieldset className="choices">
        <legend>Scopes</legend>
        {PRESETS.map((p) => (
          <div key={p.value}>
            <label className="check">
              <input type="radio" name={`${id}-preset`} value={p.value} checked={value.preset === p.value} aria-describedby={`${id}-${p.value}`} onChange={() => onChange({ ...value, preset: p.value })} />
              {p.label}
            </label>
            <p id={`${id}-${p.value}`} className="hint">
              {p.hint}
            </p>
          </div>
        ))}
        {value.preset === 'chosen' && <ScopeChecklist chosen={value.chosen} onChange={(chosen) => onChange({ ...value, chosen })} />}
      </fieldset>
      <label>
        Allowed addresses
        <textarea className="mono" spellCheck={false} aria-describedby={`${id}-cidrs`} value={value.cidrs} onChange={(e) => onChange({ ...value, cidrs: e.target.value })} />
      </label>
      <p id={`${id}-cidrs`} className="hint">
        One IPv4 or IPv6 address or range per line, such as 203.0.113.0/24 or 2001:db8::/48. Empty: any address. Requests from elsewhere are refused.
      </p>
    </>
  );
}
