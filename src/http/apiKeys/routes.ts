import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { forbidden } from '../../domain/errors.js';
import { toRfc3339 } from '../../domain/expiry.js';
import type { AuthFailureCode } from '../../service/authenticate.js';
import type { RequestContext } from '../../service/context.js';
import type { KeyService } from '../../service/keys.js';
import type { Services } from '../../service/services.js';
import { context } from '../credentials.js';
import { listmeta, type PagingParams, parsePaging, v1ApiKey } from '../schemas.js';
import { presentApiKey } from './present.js';
import * as s from './schemas.js';

interface KeyBody {
  metadata?: { name?: string; annotations?: Record<string, string> };
  spec?: { expiry?: string; userUid?: string };
}

export async function apiKeyRoutes(app: FastifyInstance, { services }: { services: Services }) {
  const { keys, authenticator, now } = services;
  const onRequest = app.authenticate;

  app.post('/v1/apiKeys', { schema: s.createKey, onRequest }, async (request, reply) => {
    const body = request.body as Required<KeyBody>;
    const created = await keys.create(context(request), {
      name: body.metadata.name!,
      description: body.metadata.annotations?.description,
      expiry: body.spec.expiry!,
      userUid: body.spec.userUid,
    });
    return reply.code(201).send(created);
  });

  app.get('/v1/apiKeys', { schema: s.listKeys, onRequest }, async (request, reply) => {
    const q = request.query as PagingParams & { userUid?: string };
    // Palette's spec gives this call no paging and its clients read one answer: without paging
    // parameters, the answer holds every visible key. Paging applies when asked for.
    const asked = q.limit !== undefined || q.continue !== undefined || q.offset !== undefined;
    const paging = parsePaging(q, asked ? 1000 : 'all', 1000);
    const query = { ...paging, userUid: q.userUid };
    const ctx = context(request);
    if (paging.limit === 'all') return streamKeys(reply, keys, ctx, query, now());
    const page = await keys.list(ctx, query);
    const at = now();
    return {
      items: page.items.map((k) => presentApiKey(k, at)),
      listmeta: { continue: page.continue, count: page.count, limit: paging.listmetaLimit, offset: page.offset },
    };
  });

  app.get('/v1/apiKeys/:uid', { schema: s.getKey, onRequest }, async (request) => {
    const { uid } = request.params as { uid: string };
    return presentApiKey(await keys.get(context(request), uid), now());
  });

  app.put('/v1/apiKeys/:uid', { schema: s.updateKey, onRequest }, async (request, reply) => {
    const { uid } = request.params as { uid: string };
    const body = request.body as KeyBody;
    await keys.update(context(request), uid, {
      name: body.metadata?.name,
      description: body.metadata?.annotations?.description,
      expiry: body.spec?.expiry,
    });
    return reply.code(204).send();
  });

  // Palette's Go SDK revokes with `{}` (it omits a false isActive), so a missing isActive means
  // revoke; the schema admits no other body without it.
  const setState = async (request: any, reply: any) => {
    const { uid } = request.params as { uid: string };
    const body = request.body as { isActive?: boolean };
    await keys.setActive(context(request), uid, body.isActive === true);
    return reply.code(204).send();
  };
  app.patch('/v1/apiKeys/:uid', { schema: s.setKeyState, onRequest }, setState);
  app.put('/v1/apiKeys/:uid/state', { schema: s.setKeyState, onRequest }, setState);

  app.delete('/v1/apiKeys/:uid', { schema: s.deleteKey, onRequest }, async (request, reply) => {
    const { uid } = request.params as { uid: string };
    await keys.delete(context(request), uid);
    return reply.code(204).send();
  });

  app.post('/v1/apiKeys/verify', { schema: s.verifyKey, onRequest }, async (request) => {
    const ctx = context(request);
    if (!ctx.actor.isAdmin) throw forbidden('Only a tenant admin, or an API key of one, can verify keys.');
    const { key } = request.body as { key: string };
    // The caller authenticated itself through the request hook; the key it relays is someone
    // else's, so its refusals do not count against the caller's address (see AuthContext). Another
    // tenant's key is refused exactly as a key that does not exist.
    const outcome = await authenticator.authenticate({ apiKey: key }, { address: ctx.address, countFailures: false, tenantUid: ctx.actor.tenantUid });
    const found = outcome.ok ? outcome : outcome.found;
    if (!found) return { valid: false, code: 'NOT_FOUND' };
    return {
      valid: outcome.ok,
      code: outcome.ok ? 'VALID' : VERIFY_CODES[outcome.code],
      keyUid: found.key.uid,
      userUid: found.principal.userUid,
      tenantUid: found.principal.tenantUid,
      expiry: toRfc3339(found.key.expiry),
    };
  });
}

/** Verify's codes (Palette's) for the refusals a relayed key can get. */
const VERIFY_CODES: Record<AuthFailureCode, 'NOT_FOUND' | 'INACTIVE' | 'EXPIRED'> = {
  Unauthorized: 'NOT_FOUND',
  ApiKeyInactive: 'INACTIVE',
  ApiKeyExpired: 'EXPIRED',
  // Not given when failures are not counted; a key that cannot be used is not valid.
  TooManyRequests: 'NOT_FOUND',
};

/**
 * Writes every key the caller may see as one v1ApiKeys answer, a chunk at a time as they are
 * read: memory stays at a chunk whatever the number of keys. Each item goes through the same
 * schema serializer as a paged answer, so no field outside v1ApiKey can be written. If reading
 * fails midway, the stream errors and the connection is cut: the client sees a broken answer,
 * never a complete-looking partial list.
 */
async function streamKeys(reply: FastifyReply, keys: KeyService, ctx: RequestContext, query: Parameters<KeyService['stream']>[1], at: number) {
  const { firstIndex, chunks, count } = await keys.stream(ctx, query);
  const item = reply.compileSerializationSchema(v1ApiKey);
  const meta = reply.compileSerializationSchema(listmeta);
  async function* body() {
    let n = 0;
    yield '{"items":[';
    for await (const chunk of chunks) {
      let text = '';
      for (const k of chunk) text += (n++ === 0 ? '' : ',') + item(presentApiKey(k, at));
      yield text;
    }
    // From the first row, the rows written are the count; from further on, ask.
    const total = firstIndex === 0 ? n : await count();
    yield `],"listmeta":${meta({ continue: '', count: total, limit: 0, offset: firstIndex + n })}}`;
  }
  return reply.type('application/json; charset=utf-8').send(Readable.from(body(), { objectMode: false }));
}
