// The reference cached check: about the least an API key check from a cache can cost behind
// Fastify, so Keyward's CPU per request can be read against it (issue 10, item 8). A route-level
// `onRequest` hook, declared like Keyward's, reads the ApiKey header, turns away a bad shape or
// checksum with Keyward's own key format, hashes the key with a one-shot SHA-256 as Keyward's
// cache does, and looks it up in a Map of `KEYS` entries; the route answers with the response
// schema of Keyward's GET /v1/users/info. No access log, no headers beyond Fastify's own.
import { hash } from 'node:crypto';
import Fastify from 'fastify';
import { register } from 'tsx/esm/api';

// Keyward runs under the same loader (bin/keyward.js), so neither pays for it alone.
register();
const { isWellFormedApiKey, newApiKey } = await import('../src/domain/apiKeyFormat.ts');

const KEYS = Number(process.env.KEYS ?? 100_000);
const principal = { tenantUid: '0123456789abcdef01234567', userUid: '89abcdef0123456789abcdef' };
const cache = new Map();
let key;
for (let i = 0; i < KEYS; i++) {
  key = newApiKey('reference-secret').key;
  cache.set(hash('sha256', key, 'base64'), principal);
}

const str = { type: 'string' };
// A copy of v1Error and errorResponses in src/http/schemas.ts: kept out of the import so that
// a change there cannot break the reference.
const v1Error = { type: 'object', properties: { code: str, message: str, ref: str, details: { type: 'object', additionalProperties: true } } };
const response = {
  200: { type: 'object', properties: { orgName: str, tenantUid: str, userUid: str } },
  400: v1Error,
  401: v1Error,
  403: v1Error,
  404: v1Error,
  409: v1Error,
  429: v1Error,
};

const app = Fastify({ logger: false });
app.decorateRequest('principal', null);

async function onRequest(request, reply) {
  const presented = request.headers.apikey;
  const found = typeof presented === 'string' && isWellFormedApiKey(presented) ? cache.get(hash('sha256', presented, 'base64')) : undefined;
  if (found === undefined) return reply.code(401).send({ code: 'Unauthorized', message: 'The API key is not valid.', ref: '' });
  request.principal = found;
}

app.get('/v1/users/info', { onRequest, schema: { response } }, async (request) => ({
  orgName: 'default',
  tenantUid: request.principal.tenantUid,
  userUid: request.principal.userUid,
}));

await app.listen({ host: '127.0.0.1', port: 0 });
console.log(`KEY ${key}`);
console.log(`LISTENING ${app.server.address().port}`);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
