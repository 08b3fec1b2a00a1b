/** `keyward scopes ...`: the tenant's scope catalogue, through a running server's API. */
import { client, print, UsageError, type Values } from './command.js';
import { safe } from './escape.js';
import { table } from './table.js';

/**
 * The URL path segment for a scope name. Names hold ':' and may hold '*', so the name is
 * percent-encoded; a name that is only dots would still be read as a `.`/`..` path segment (URLs
 * treat `%2e` as a dot too) and send the request to another path, so it is refused here. No scope
 * name is only dots: the server refuses the rest of what is not a name.
 */
function nameSegment(sub: string, name: string | undefined): string {
  if (name === undefined || name === '') throw new UsageError(`scopes ${sub} needs the scope's name`);
  if (/^\.+$/.test(name)) throw new UsageError(`"${name}" is not a scope name`);
  return encodeURIComponent(name);
}

export async function scopes(sub: string | undefined, positionals: string[], values: Values) {
  const api = client(values);
  switch (sub) {
    case 'list': {
      const { items } = await api.request('GET', '/v1/scopes');
      const rows = items.map((s: any) => [s.name, s.builtIn ? 'yes' : 'no', s.description ?? '']);
      return print(values, items, items.length ? table(['NAME', 'BUILT-IN', 'DESCRIPTION'], rows) : 'No scopes.');
    }
    case 'set': {
      const segment = nameSegment(sub, positionals[0]);
      // An empty description is a choice (`--description ''`); a forgotten one is not.
      if (values.description === undefined) throw new UsageError('--description is required');
      const saved = await api.request('PUT', `/v1/scopes/${segment}`, { description: values.description });
      return print(values, saved, safe`Saved scope ${saved.name}.`);
    }
    case 'delete': {
      await api.request('DELETE', `/v1/scopes/${nameSegment(sub, positionals[0])}`);
      return print(values, { name: positionals[0], deleted: true }, safe`Deleted scope ${positionals[0]}.`);
    }
    default:
      throw new UsageError(`unknown scopes command "${sub ?? ''}": use list, set or delete`);
  }
}
