import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyInstance } from 'fastify';
import { badRequest, forbidden } from '../../domain/errors.js';
import { canonicalAddress } from '../../domain/networkAddress.js';
import { requirement } from '../../domain/scopeExpression.js';
import { toRfc3339 } from '../../domain/expiry.js';
import type { AuthFailureCode, AuthRefused } from '../../service/authenticate.js';
import type { RequestContext } from '../../service/context.js';
import type { KeyService } from '../../service/keys.js';
import type { Services } from '../../service/services.js';
import { context } from '../credentials.js';
import { listmeta, parsePaging, v1ApiKey } from '../schemas.js';
import { streamList } from '../streamList.js';
import { scopeRoutes } from '../scopes/routes.js';
import { presentApiKey } from './present.js';
import * as s from './schemas.js';

export async function apiKeyRoutes(untyped: FastifyInstance, { services }: { services: Services }) {
  // Request types come from each route's schema.
  const app = untyped.withTypeProvider<JsonSchemaToTsProvider>();
  const { keys, authenticator, now } = services;
  const onRequest = app.authenticate;
  // The catalogue of the scopes keys hold lives beside the keys. Registered from here rather
  // than in app.ts (being reworked on another branch); it may move there.
  await app.register(scopeRoutes, { services });
  // The scope an API key needs (design-11): reading keys and changing them are separate grants.
  const READ = { scope: 'apiKeys:read' };
  const WRITE = { scope: 'apiKeys:write' };

  app.post('/v1/apiKeys', { schema: s.createKey, onRequest, config: WRITE }, async (request, reply) => {
    const { metadata, spec } = request.body;
    const created = await keys.create(context(request), {
      name: metadata.name,
      description: metadata.annotations?.description,
      expiry: spec.expiry,
      userUid: spec.userUid,
      scopes: spec.scopes,
      allowedCidrs: spec.allowedCidrs,
    });
    return reply.code(201).send(created);
  });

  app.get('/v1/apiKeys', { schema: s.listKeys, onRequest, config: READ }, async (request, reply) => {
    const q = request.query;
    // Palette's spec gives this call no paging and its clients read one answer: without paging
    // parameters, the answer holds every visible key. Paging applies when asked for.
    const asked = q.limit !== undefined || q.continue !== undefined || q.offset !== undefined;
    const paging = parsePaging(q, asked ? 1000 : 'all', 1000);
    const query = { ...paging, userUid: q.userUid };
    const ctx = context(request);
    if (paging.limit === 'all') {
      const at = now();
      return streamList(reply, await keys.stream(ctx, query), v1ApiKey, (k) => presentApiKey(k, at));
    }
    const page = await keys.list(ctx, query);
    const at = now();
    return {
      items: page.items.map((k) => presentApiKey(k, at)),
      listmeta: { continue: page.continue, count: page.count, limit: paging.listmetaLimit, offset: page.offset },
    };
  });

  app.get('/v1/apiKeys/:uid', { schema: s.getKey, onRequest, config: READ }, async (request) => {
    const { uid } = request.params;
    return presentApiKey(await keys.get(context(request), uid), now());
  });

  app.put('/v1/apiKeys/:uid', { schema: s.updateKey, onRequest, config: WRITE }, async (request, reply) => {
    const { uid } = request.params;
    const body = request.body;
    await keys.update(context(request), uid, {
      name: body.metadata?.name,
      description: body.metadata?.annotations?.description,
      expiry: body.spec?.expiry,
      scopes: body.spec?.scopes,
      allowedCidrs: body.spec?.allowedCidrs,
    });
    return reply.code(204).send(null);
  });

  // Palette's Go SDK revokes with `{}` (it omits a false isActive), so a missing isActive means
  // revoke; the schema admits no other body without it.
  for (const [method, url] of [['PATCH', '/v1/apiKeys/:uid'], ['PUT', '/v1/apiKeys/:uid/state']] as const) {
    app.route({
      method,
      url,
      schema: s.setKeyState,
      onRequest,
      config: WRITE,
      handler: async (request, reply) => {
        await keys.setActive(context(request), request.params.uid, request.body.isActive === true);
        return reply.code(204).send(null);
      },
    });
  }

  app.delete('/v1/apiKeys/:uid', { schema: s.deleteKey, onRequest, config: WRITE }, async (request, reply) => {
    const { uid } = request.params;
    await keys.delete(context(request), uid);
    return reply.code(204).send(null);
  });

  app.post('/v1/apiKeys/verify', { schema: s.verifyKey, onRequest, config: { scope: 'keys:verify' } }, async (request) => {
    const ctx = context(request);
    if (!ctx.actor.isAdmin) throw forbidden('Only a tenant admin, or an API key of one, can verify keys.');
    const { key, require: text, clientAddress } = request.body;
    // Bad input is the caller's mistake, answered as such before the key is looked at.
    const required = text === undefined ? undefined : requirement(text);
    const relayedAddress = clientAddress === undefined ? null : canonicalAddress(clientAddress);
    if (relayedAddress === undefined) throw badRequest('clientAddress must be an IPv4 or IPv6 address (the address the key was presented from).', { field: 'clientAddress' });
    // The caller authenticated itself through the request hook; the key it relays is someone
    // else's, so its refusals do not count against the caller's address (see AuthContext). Another
    // tenant's key is refused exactly as a key that does not exist. The relayed key's allowlist is
    // checked against clientAddress, never the caller's own address; without one, a key that has
    // an allowlist is refused: nobody vouched for where it came from.
    const outcome = await authenticator.authenticate(
      { apiKey: key },
      { address: ctx.address, countFailures: false, tenantUid: ctx.actor.tenantUid, require: required, allowlistAddress: relayedAddress },
    );
    const found = outcome.ok ? outcome : outcome.found;
    if (!found) return { valid: false, code: 'NOT_FOUND' };
    return {
      valid: outcome.ok,
      code: outcome.ok ? 'VALID' : verifyCode(outcome),
      keyUid: found.key.uid,
      userUid: found.principal.userUid,
      tenantUid: found.principal.tenantUid,
      expiry: toRfc3339(found.key.expiry),
      scopes: found.key.scopes,
      missing: outcome.ok ? undefined : outcome.missing,
    };
  });
}

/** Verify's codes (Palette's, and issue 11's) for the refusals a relayed key can get. */
const VERIFY_CODES: Record<Exclude<AuthFailureCode, 'Forbidden'>, 'NOT_FOUND' | 'INACTIVE' | 'EXPIRED'> = {
  Unauthorized: 'NOT_FOUND',
  ApiKeyInactive: 'INACTIVE',
  ApiKeyExpired: 'EXPIRED',
  // Not given when failures are not counted; a key that cannot be used is not valid.
  TooManyRequests: 'NOT_FOUND',
};

const verifyCode = (refused: AuthRefused) =>
  refused.code !== 'Forbidden' ? VERIFY_CODES[refused.code] : refused.reason === 'address_not_allowed' ? 'ADDRESS_NOT_ALLOWED' : 'INSUFFICIENT_SCOPE';
