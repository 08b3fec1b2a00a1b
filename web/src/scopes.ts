/**
 * Scope names as the console shows them: the presets come from src/domain/scopes.ts (which
 * imports only the limits), so the console's `Read only` is the very list the server and the
 * CLI mean by it.
 */
import { FULL_ACCESS, READ_ONLY_SCOPES } from '../../src/domain/scopes';

export { FULL_ACCESS, READ_ONLY_SCOPES, scopeNameProblem } from '../../src/domain/scopes';

export type ScopePreset = 'full' | 'readOnly' | 'chosen';

/** Same names, in any order: the server may keep a key's scopes in its own order. */
function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const set = new Set(a);
  return set.size === new Set(b).size && b.every((s) => set.has(s));
}

/** Which of the form's three choices a key's scopes are (absent: a key from before scopes, full access). */
export function presetOf(scopes: readonly string[] | undefined): ScopePreset {
  if (scopes === undefined || sameSet(scopes, FULL_ACCESS)) return 'full';
  if (sameSet(scopes, READ_ONLY_SCOPES)) return 'readOnly';
  return 'chosen';
}

/** A key's scopes in words for the tables: `Full access`, `Read only`, or the names. */
export function describeScopes(scopes: readonly string[] | undefined): string {
  const preset = presetOf(scopes);
  if (preset === 'full') return 'Full access';
  if (preset === 'readOnly') return 'Read only';
  return scopes && scopes.length > 0 ? scopes.join(', ') : 'No scopes';
}
