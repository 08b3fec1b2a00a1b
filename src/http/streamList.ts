/**
 * A whole listing (`limit=0`, or GET /v1/apiKeys without paging) written as one Palette list
 * answer, a chunk at a time as it is read: memory stays at a chunk whatever the number of rows,
 * and the event loop gets a turn between chunks, so one large listing cannot stall every other
 * request. Each item goes through the route's own schema serializer, so no field outside the
 * item schema can be written. If reading fails midway, the stream errors and the connection is
 * cut: the client sees a broken answer, never a complete-looking partial list.
 */
import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { RowStream } from '../service/listing.js';
import { listmeta } from './schemas.js';

export async function streamList<T>(reply: FastifyReply, rows: RowStream<T>, itemSchema: Record<string, unknown>, present: (row: T) => Record<string, unknown>) {
  const { firstIndex, chunks, count } = rows;
  const item = reply.compileSerializationSchema(itemSchema);
  const meta = reply.compileSerializationSchema(listmeta);
  async function* body() {
    let n = 0;
    yield '{"items":[';
    for await (const chunk of chunks) {
      let text = '';
      for (const row of chunk) text += (n++ === 0 ? '' : ',') + item(present(row));
      yield text;
    }
    // From the first row, the rows written are the count; from further on, ask.
    const total = firstIndex === 0 ? n : await count();
    yield `],"listmeta":${meta({ continue: '', count: total, limit: 0, offset: firstIndex + n })}}`;
  }
  return reply.type('application/json; charset=utf-8').send(Readable.from(body(), { objectMode: false }));
}
