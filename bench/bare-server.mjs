// The baseline for rejected requests: a bare Fastify 5 server that answers 401 on POST /update,
// with no logger, no auth, no plugins. Started by bench/run.ts in a process of its own.
import { monitorEventLoopDelay } from 'node:perf_hooks'
import Fastify from 'fastify'

// Its event-loop delay, measured as prom-client measures the updater's (10 ms resolution), reset on each read.
const delay = monitorEventLoopDelay({ resolution: 10 })
delay.enable()

const app = Fastify({ logger: false })
app.post('/update', async (_request, reply) => reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'Unauthorized' }))
app.get('/healthz', async () => ({ status: 'ok' }))
app.get('/loop', async () => {
  const ms = { p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 }
  delay.reset()
  return ms
})
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
process.stdout.write('listening\n')
process.on('SIGTERM', () => app.close().then(() => process.exit(0)))
