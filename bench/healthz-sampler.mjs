// Samples GET <url> every <interval> ms, one request at a time, until SIGTERM; then prints the
// latencies (ms) as a JSON array. Run by bench/lib.ts in a process of its own, so that the load
// generator's event loop does not delay the samples.
import { request, Agent } from 'node:http'

const [url, interval = '10'] = process.argv.slice(2)
const agent = new Agent({ keepAlive: true, maxSockets: 1 })
const latencies = []
let stopping = false

function once () {
  return new Promise((resolve) => {
    const t0 = performance.now()
    const req = request(url, { agent }, (res) => {
      res.resume()
      res.on('end', () => resolve(performance.now() - t0))
    })
    req.on('error', () => resolve(NaN))
    req.end()
  })
}

process.on('SIGTERM', () => { stopping = true })
for (;;) {
  if (stopping) break
  const started = performance.now()
  latencies.push(await once())
  const rest = Number(interval) - (performance.now() - started)
  if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest))
}
process.stdout.write(JSON.stringify(latencies.filter(Number.isFinite)) + '\n')
agent.destroy()
