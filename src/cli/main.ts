/** The `keyward` command. Each subcommand prints a one-line error and exits non-zero on failure. */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, resolveSecret } from '../config.js';
import { KeywardError } from '../domain/errors.js';
import { createServices } from '../service/services.js';
import { DEFAULT_DATABASE_URL } from '../store/databaseUrl.js';
import { Store } from '../store/store.js';
import { ApiError, KeywardClient } from './client.js';
import { escapeForTerminal, jsonForTerminal, safe } from './escape.js';
import { serve } from './serve.js';
import { table } from './table.js';

const USAGE = `Usage: keyward <command> [options]

  serve                                   start the server (settings from KEYWARD_* variables)
  tenant create --name N --admin-email E [--admin-password P]
  user create --tenant N --email E [--first-name F] [--last-name L] [--password P] [--admin]
  keys list [--user UID]
  keys create --name N [--description D] [--days 30 | --expiry 2030-01-31T00:00:00Z] [--user UID]
  keys revoke UID | keys activate UID | keys delete UID

The tenant and user commands work on the database directly (KEYWARD_DATABASE_URL).
The keys commands talk to a running server:
  --url U            server address (KEYWARD_URL, default http://127.0.0.1:8080)
  --api-key K        an API key (KEYWARD_API_KEY), or
  --email E --password P   a login (KEYWARD_EMAIL, KEYWARD_PASSWORD)
  --json             machine-readable output
`;

class UsageError extends Error {}

const options = {
  name: { type: 'string' },
  'admin-email': { type: 'string' },
  'admin-password': { type: 'string' },
  tenant: { type: 'string' },
  email: { type: 'string' },
  'first-name': { type: 'string' },
  'last-name': { type: 'string' },
  password: { type: 'string' },
  admin: { type: 'boolean' },
  description: { type: 'string' },
  days: { type: 'string' },
  expiry: { type: 'string' },
  user: { type: 'string' },
  url: { type: 'string' },
  'api-key': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parse>['values'];
const parse = (args: string[]) => parseArgs({ args, options, allowPositionals: true, strict: true });

function required(values: Values, name: keyof Values): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

/** `human` is built with the `safe` tag (or `table`), so that stored values reach the terminal escaped. */
function print(values: Values, data: unknown, human: string) {
  process.stdout.write(values.json ? `${jsonForTerminal(data)}\n` : `${human}\n`);
}

async function withStore<T>(fn: (services: ReturnType<typeof createServices>) => Promise<T>): Promise<T> {
  const url = process.env.KEYWARD_DATABASE_URL || DEFAULT_DATABASE_URL;
  const store = await Store.open(url);
  for (const note of store.connection.notes) process.stderr.write(`Keyward: ${note}\n`);
  try {
    return await fn(createServices(store, { secret: resolveSecret(process.env, store.capabilities.sharedByProcesses) }));
  } finally {
    await store.close();
  }
}

async function tenantCreate(values: Values) {
  const result = await withStore((s) =>
    s.users.createTenant({ name: required(values, 'name'), adminEmail: required(values, 'admin-email'), adminPassword: values['admin-password'] }),
  );
  const data = { tenantUid: result.tenant.uid, name: result.tenant.name, adminUid: result.admin.uid, adminEmail: result.admin.email, adminPassword: result.generatedPassword };
  print(
    values,
    data,
    safe`Created tenant "${data.name}" (${data.tenantUid}) with tenant admin ${data.adminEmail} (${data.adminUid}).` +
      (result.generatedPassword ? safe`\nGenerated password, shown once: ${result.generatedPassword}` : ''),
  );
}

async function userCreate(values: Values) {
  const user = await withStore((s) =>
    s.users.createInTenant(required(values, 'tenant'), {
      email: required(values, 'email'),
      firstName: values['first-name'],
      lastName: values['last-name'],
      password: values.password,
      roles: values.admin ? ['tenant-admin'] : [],
    }),
  );
  print(values, { uid: user.uid, email: user.email, roles: user.roles }, safe`Created user ${user.email} (${user.uid}).`);
}

function client(values: Values) {
  return new KeywardClient({
    url: values.url ?? process.env.KEYWARD_URL ?? 'http://127.0.0.1:8080',
    apiKey: values['api-key'] ?? process.env.KEYWARD_API_KEY,
    email: values.email ?? process.env.KEYWARD_EMAIL,
    password: values.password ?? process.env.KEYWARD_PASSWORD,
  });
}

async function keys(sub: string | undefined, positionals: string[], values: Values) {
  const api = client(values);
  const uidArg = () => {
    const uid = positionals[0];
    if (!uid) throw new UsageError(`keys ${sub} needs the key's uid`);
    return encodeURIComponent(uid);
  };
  switch (sub) {
    case 'list': {
      const items = await api.listAll('/v1/apiKeys', values.user ? { userUid: values.user } : {});
      const rows = items.map((k: any) => [
        k.metadata.uid,
        k.metadata.name,
        k.status.isExpired ? 'Expired' : k.status.isActive ? 'Active' : 'Inactive',
        k.spec.expiry,
        `${k.spec.user.firstName} ${k.spec.user.lastName}`.trim() || k.spec.user.emailId,
        k.status.lastUsedTimestamp ?? '-',
      ]);
      return print(values, items, items.length ? table(['UID', 'NAME', 'STATE', 'EXPIRES', 'USER', 'LAST USED'], rows) : 'No API keys.');
    }
    case 'create': {
      if (values.days !== undefined && !/^\d+$/.test(values.days)) throw new UsageError('--days takes a whole number of days');
      const expiry = values.expiry ?? new Date(Date.now() + Number(values.days ?? 30) * 86_400_000).toISOString();
      const created = await api.request('POST', '/v1/apiKeys', {
        metadata: { name: required(values, 'name'), annotations: { description: values.description ?? '' } },
        spec: { expiry, userUid: values.user },
      });
      return print(values, created, safe`Created API key ${created.uid}. Copy it now; it is not shown again:\n\n    ${created.apiKey}\n`);
    }
    case 'revoke':
    case 'activate': {
      const uid = uidArg();
      await api.request('PATCH', `/v1/apiKeys/${uid}`, { isActive: sub === 'activate' });
      return print(values, { uid: positionals[0], isActive: sub === 'activate' }, safe`${sub === 'revoke' ? 'Revoked' : 'Re-activated'} API key ${positionals[0]}.`);
    }
    case 'delete': {
      await api.request('DELETE', `/v1/apiKeys/${uidArg()}`);
      return print(values, { uid: positionals[0], deleted: true }, safe`Deleted API key ${positionals[0]}.`);
    }
    default:
      throw new UsageError(`unknown keys command "${sub ?? ''}": use list, create, revoke, activate or delete`);
  }
}

export async function main(argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parse(argv);
    const [command, sub, ...rest] = positionals;
    if (values.help || !command) {
      process.stdout.write(USAGE);
      return command || values.help ? 0 : 2;
    }
    if (command === 'serve') {
      await serve(loadConfig());
      return -1; // keeps running
    }
    if (command === 'tenant' && sub === 'create') await tenantCreate(values);
    else if (command === 'user' && sub === 'create') await userCreate(values);
    else if (command === 'keys') await keys(sub, rest, values);
    else throw new UsageError(`unknown command "${positionals.join(' ')}"`);
    return 0;
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`keyward: ${escapeForTerminal((err as Error).message)}\nRun "keyward --help" for usage.\n`);
      return 2;
    }
    if (err instanceof ConfigError || err instanceof KeywardError || err instanceof ApiError) {
      // A server's error message, or a value echoed in it, is text from elsewhere.
      process.stderr.write(`keyward: ${escapeForTerminal(err.message)}\n`);
      return 1;
    }
    process.stderr.write(`keyward: ${escapeForTerminal(String((err as Error).message ?? err))}\n`);
    return 1;
  }
}

const code = await main(process.argv.slice(2));
if (code >= 0) process.exitCode = code;
