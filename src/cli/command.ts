/** What every `keyward` subcommand shares: its options, usage errors, output and API client. */
import { parseArgs } from 'node:util';
import { KeywardClient } from './client.js';
import { jsonForTerminal } from './escape.js';

export class UsageError extends Error {}

export const options = {
  name: { type: 'string' },
  'admin-email': { type: 'string' },
  'admin-password': { type: 'string' },
  tenant: { type: 'string' },
  email: { type: 'string' },
  'first-name': { type: 'string' },
  'last-name': { type: 'string' },
  password: { type: 'string' },
  admin: { type: 'boolean' },
  service: { type: 'boolean' },
  description: { type: 'string' },
  days: { type: 'string' },
  expiry: { type: 'string' },
  user: { type: 'string' },
  scope: { type: 'string', multiple: true },
  'read-only': { type: 'boolean' },
  'allow-cidr': { type: 'string', multiple: true },
  url: { type: 'string' },
  'api-key': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const parse = (args: string[]) => parseArgs({ args, options, allowPositionals: true, strict: true });
export type Values = ReturnType<typeof parse>['values'];

type StringOption = { [K in keyof Values]-?: Values[K] extends string | undefined ? K : never }[keyof Values];

export function required(values: Values, name: StringOption): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

/**
 * A repeatable option's values, each also split at commas (`--scope a:b,c:d` = `--scope a:b
 * --scope c:d`), blanks dropped, first appearance kept: undefined when the option was not given.
 */
export function list(values: Values, name: 'scope' | 'allow-cidr'): string[] | undefined {
  const given = values[name];
  if (given === undefined) return undefined;
  const items = [...new Set(given.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== ''))];
  if (items.length === 0) throw new UsageError(`--${name} needs a value`);
  return items;
}

/** `human` is built with the `safe` tag (or `table`), so that stored values reach the terminal escaped. */
export function print(values: Values, data: unknown, human: string) {
  process.stdout.write(values.json ? `${jsonForTerminal(data)}\n` : `${human}\n`);
}

/** A client for the server the `keys` and `scopes` commands talk to. */
export function client(values: Values) {
  return new KeywardClient({
    url: values.url ?? process.env.KEYWARD_URL ?? 'http://127.0.0.1:8080',
    apiKey: values['api-key'] ?? process.env.KEYWARD_API_KEY,
    email: values.email ?? process.env.KEYWARD_EMAIL,
    password: values.password ?? process.env.KEYWARD_PASSWORD,
  });
}
