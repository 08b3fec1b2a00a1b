/** `keyward keys ...`: API keys, through a running server's API. */
import { READ_ONLY_SCOPES } from '../domain/scopes.js';
import { client, list, print, required, UsageError, type Values } from './command.js';
import { safe } from './escape.js';
import { table } from './table.js';

/** A key's scopes for people: `*` is its owner's whole power, which `full access` says plainly. */
export function scopesCell(scopes: readonly string[] | undefined): string {
  return (scopes ?? ['*']).map((s) => (s === '*' ? 'full access' : s)).join(',');
}

function addressesCell(cidrs: readonly string[] | undefined): string {
  return cidrs?.length ? cidrs.join(',') : 'any';
}

/** spec.scopes for a create: --read-only (the console's "Read only" preset) or --scope; absent = the server's default, full access. */
function requestedScopes(values: Values): string[] | undefined {
  const scopes = list(values, 'scope');
  if (values['read-only']) {
    if (scopes) throw new UsageError('give --read-only or --scope, not both');
    return [...READ_ONLY_SCOPES];
  }
  return scopes;
}

export async function keys(sub: string | undefined, positionals: string[], values: Values) {
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
        scopesCell(k.spec.scopes),
        addressesCell(k.spec.allowedCidrs),
      ]);
      const headers = ['UID', 'NAME', 'STATE', 'EXPIRES', 'USER', 'LAST USED', 'SCOPES', 'ALLOWED ADDRESSES'];
      return print(values, items, items.length ? table(headers, rows) : 'No API keys.');
    }
    case 'create': {
      if (values.days !== undefined && !/^\d+$/.test(values.days)) throw new UsageError('--days takes a whole number of days');
      const expiry = values.expiry ?? new Date(Date.now() + Number(values.days ?? 30) * 86_400_000).toISOString();
      const name = required(values, 'name');
      // Absent fields are left out, not sent empty: the server's defaults (full access, any address) apply.
      const scopes = requestedScopes(values);
      const allowedCidrs = list(values, 'allow-cidr');
      const created = await api.request('POST', '/v1/apiKeys', {
        metadata: { name, annotations: { description: values.description ?? '' } },
        spec: { expiry, userUid: values.user, ...(scopes && { scopes }), ...(allowedCidrs && { allowedCidrs }) },
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
