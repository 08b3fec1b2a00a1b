/** Headers every answer carries, written in one place for routes and for Fastify's own refusals. */
import type { FastifyReply, FastifyRequest } from 'fastify';

export function standardHeaders(request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', request.id);
  reply.header('x-content-type-options', 'nosniff');
  // Responses may carry a new key or a token: never let a cache keep them.
  if (request.url.startsWith('/v1/')) reply.header('cache-control', 'no-store');
}
