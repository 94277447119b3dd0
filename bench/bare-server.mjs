// The baseline for rejected requests: a bare Fastify 5 server that answers 401 on POST /update,
// with no logger, no auth, no plugins. Started by bench/run.ts in a process of its own.
import Fastify from 'fastify'

const app = Fastify({ logger: false })
app.post('/update', async (_request, reply) => reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'Unauthorized' }))
app.get('/healthz', async () => ({ status: 'ok' }))
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
process.stdout.write('listening\n')
process.on('SIGTERM', () => app.close().then(() => process.exit(0)))
