import type { FastifyInstance } from 'fastify';
import type { Services } from '../../service/services.js';
import { KeywardError } from '../../domain/errors.js';

export async function healthRoutes(app: FastifyInstance, { services }: { services: Services }) {
  const ok = { 200: { type: 'object', properties: { status: { type: 'string' } } } };
  app.get('/healthz', { schema: { tags: ['health'], summary: 'The process is up', response: ok } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { tags: ['health'], summary: 'The database answers', response: ok } }, async () => {
    try {
      await services.store.ping();
      return { status: 'ready' };
    } catch {
      throw new KeywardError('ServiceUnavailable', 'The database is not reachable.');
    }
  });
}
