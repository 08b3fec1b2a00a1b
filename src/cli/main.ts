/** The `keyward` command. Each subcommand prints a one-line error and exits non-zero on failure. */
import { ConfigError, loadConfig, resolveSecret } from '../config.js';
import { KeywardError } from '../domain/errors.js';
import { createServices } from '../service/services.js';
import { DEFAULT_DATABASE_URL } from '../store/databaseUrl.js';
import { Store } from '../store/store.js';
import { ApiError } from './client.js';
import { parse, print, required, UsageError, type Values } from './command.js';
import { escapeForTerminal, safe } from './escape.js';
import { keys } from './keys.js';
import { scopes } from './scopes.js';
import { serve } from './serve.js';

const USAGE = `Usage: keyward <command> [options]

  serve                                   start the server (settings from KEYWARD_* variables)
  tenant create --name N --admin-email E [--admin-password P]
  user create --tenant N --email E [--first-name F] [--last-name L] [--password P] [--admin]
  user create --service --tenant N --email E [--first-name F] [--last-name L] [--admin]
                                          a service account: no password, cannot sign in;
                                          a tenant admin creates its keys (keys create --user UID)
  keys list [--user UID]
  keys create --name N [--description D] [--days 30 | --expiry 2030-01-31T00:00:00Z] [--user UID]
              [--scope S]... | [--read-only]   scopes (repeat, or comma-separated); default full access
              [--allow-cidr C]...              addresses it may be used from; default any
  keys revoke UID | keys activate UID | keys delete UID
  scopes list                             built-in and the tenant's own scopes
  scopes set NAME --description D         add or describe a tenant scope (tenant admin)
  scopes delete NAME                      (refused while a key holds it)

The tenant and user commands work on the database directly (KEYWARD_DATABASE_URL).
The keys and scopes commands talk to a running server:
  --url U            server address (KEYWARD_URL, default http://127.0.0.1:8080)
  --api-key K        an API key (KEYWARD_API_KEY), or
  --email E --password P   a login (KEYWARD_EMAIL, KEYWARD_PASSWORD)
  --json             machine-readable output
Quote a scope holding '*' (--scope 'orders:*') so that the shell leaves it alone.
`;

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
  // A service account has no password: one given is a mistake to point out, not to drop silently.
  if (values.service && values.password !== undefined) throw new UsageError('a service account has no password: leave out --password');
  const user = await withStore((s) =>
    s.users.createInTenant(required(values, 'tenant'), {
      email: required(values, 'email'),
      firstName: values['first-name'],
      lastName: values['last-name'],
      password: values.password,
      roles: values.admin ? ['tenant-admin'] : [],
      kind: values.service ? 'service' : 'person',
    }),
  );
  const kind = values.service ? 'service account' : 'user';
  print(values, { uid: user.uid, email: user.email, roles: user.roles, kind: user.kind }, safe`Created ${kind} ${user.email} (${user.uid}).`);
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
    else if (command === 'scopes') await scopes(sub, rest, values);
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
