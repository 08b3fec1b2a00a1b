// The ceiling: a bare Fastify route returning the same small JSON as GET /v1/users/info.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
const body = { orgName: 'default', tenantUid: '0123456789abcdef01234567', userUid: '89abcdef0123456789abcdef' };
app.get('/v1/users/info', { schema: { response: { 200: { type: 'object', properties: { orgName: { type: 'string' }, tenantUid: { type: 'string' }, userUid: { type: 'string' } } } } } }, async () => body);
await app.listen({ host: '127.0.0.1', port: 0 });
console.log(`LISTENING ${app.server.address().port}`);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
