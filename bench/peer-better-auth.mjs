// The peer: Better Auth's API key plugin verifying its own keys on SQLite, behind the same kind
// of Fastify route, with its rate limit off (its fastest setting). Fills the table to `KEYS` rows.
import { randomBytes, randomUUID } from 'node:crypto';
import { apiKey } from '@better-auth/api-key';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import Database from 'better-sqlite3';
import Fastify from 'fastify';

const KEYS = Number(process.env.KEYS ?? 100_000);
const db = new Database(process.env.DB_PATH ?? ':memory:');
db.pragma('journal_mode = WAL');
const auth = betterAuth({
  database: db,
  secret: 'bench-secret-0123456789abcdef0123456789',
  baseURL: 'http://127.0.0.1',
  emailAndPassword: { enabled: true },
  plugins: [apiKey({ rateLimit: { enabled: false } })],
  logger: { disabled: true },
});
const { runMigrations } = await getMigrations(auth.options);
await runMigrations();

const { user } = await auth.api.signUpEmail({ body: { email: 'bench@example.com', password: 'bench-password-1', name: 'Bench' } });
const created = await auth.api.createApiKey({ body: { userId: user.id, name: 'bench' } });

// Fill the table with more keys like the first (random hashes), so lookups run against KEYS rows.
const table = db.prepare("select name from sqlite_master where type = 'table' and lower(name) like 'apikey%'").get().name;
const template = db.prepare(`select * from "${table}" limit 1`).get();
const columns = Object.keys(template);
const insert = db.prepare(`insert into "${table}" (${columns.map((c) => `"${c}"`).join(',')}) values (${columns.map(() => '?').join(',')})`);
db.transaction(() => {
  for (let i = 1; i < KEYS; i++) {
    insert.run(columns.map((c) => (c === 'id' ? randomUUID() : c === 'key' ? randomBytes(32).toString('base64url') : template[c])));
  }
})();

const app = Fastify({ logger: false });
app.get('/v1/users/info', { schema: { response: { 200: { type: 'object', properties: { orgName: { type: 'string' }, tenantUid: { type: 'string' }, userUid: { type: 'string' } } } } } }, async (request, reply) => {
  const result = await auth.api.verifyApiKey({ body: { key: String(request.headers['x-api-key'] ?? '') } });
  if (!result.valid) return reply.code(401).send({ code: 'Unauthorized' });
  return { orgName: 'default', tenantUid: 'default', userUid: result.key.referenceId ?? result.key.userId };
});
await app.listen({ host: '127.0.0.1', port: 0 });
console.log(`KEY ${created.key}`);
console.log(`LISTENING ${app.server.address().port}`);
