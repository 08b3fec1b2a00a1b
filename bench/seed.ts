/**
 * Fills a Keyward database for the benchmarks: tenant `default` with its admin, and `--keys` API
 * keys owned by the admin, inserted in bulk. Writes `--valid` of the keys, in clear, to `--out`
 * (benchmark data only: the product never stores a key in clear).
 *   node --import tsx bench/seed.ts --url sqlite:/tmp/x.db --keys 100000 --valid 1 --out /tmp/keys.txt
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { newApiKey } from '../src/domain/apiKeyFormat.js';
import { newUid } from '../src/service/context.js';
import { createServices } from '../src/service/services.js';
import { Store } from '../src/store/store.js';

const { values } = parseArgs({ options: { url: { type: 'string' }, keys: { type: 'string' }, valid: { type: 'string' }, out: { type: 'string' }, secret: { type: 'string' } } });
const secret = values.secret ?? 'bench-secret-0123456789abcdef';
const total = Number(values.keys ?? 100_000);
const valid = Number(values.valid ?? 1);
const store = await Store.open(values.url!);
const services = createServices(store, { secret });
const { admin } = await services.users.createTenant({ name: 'default', adminEmail: 'admin@keyward.local', adminPassword: 'keeper-password-1' });

const now = Date.now();
const expiry = now + 300 * 86_400_000;
const keys: string[] = [];
const CHUNK = 500;
for (let start = 0; start < total; start += CHUNK) {
  const rows = [];
  for (let i = start; i < Math.min(start + CHUNK, total); i++) {
    const { key, hash, start: prefix } = newApiKey(secret);
    if (i < valid) keys.push(key);
    rows.push({
      uid: newUid(),
      tenant_uid: admin.tenantUid,
      user_uid: admin.uid,
      name: `bench-${i}`,
      description: '',
      start: prefix,
      hash,
      expiry,
      is_active: 1,
      revoked_at: null,
      revoked_by_uid: null,
      revoked_by_admin: 0,
      created_at: now + i,
      updated_at: now + i,
      last_used_at: null,
    });
  }
  await store.connection.db.insertInto('api_keys').values(rows).execute();
}
if (values.out) writeFileSync(values.out, `${keys.join('\n')}\n`);
await store.close();
console.log(`seeded ${total} keys, ${keys.length} written`);
