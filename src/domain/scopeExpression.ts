import { badRequest } from './errors.js';
import { grants } from './scopes.js';

export interface Requirement {
  readonly text: string;
  readonly scopes: readonly string[];
  /** The scopes `held` lacks for this requirement; a shared empty array when it is met. */
  missing(held: readonly string[]): readonly string[];
}

const NONE: readonly string[] = Object.freeze([]);

export function parseRequirement(text: string): Requirement {
  const scopes = text.split(/\s+AND\s+/i).map((s) => s.trim()).filter(Boolean);
  if (scopes.length === 0) throw badRequest('The requirement is empty.');
  return { text, scopes, missing: (held) => { const m = scopes.filter((s) => !grants(held, s)); return m.length ? m : NONE; } };
}

export function requirement(text: string): Requirement {
  return parseRequirement(text);
}

export function allOf(...reqs: (Requirement | undefined)[]): Requirement | undefined {
  const parts = reqs.filter((r): r is Requirement => r !== undefined);
  if (parts.length === 0) return undefined;
  if (parts.length === 1) return parts[0];
  return parseRequirement(parts.map((r) => `(${r.text})`).join(' AND '));
}
