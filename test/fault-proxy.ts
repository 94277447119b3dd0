import { once } from 'node:events'
import { createServer, request as forward, type IncomingMessage, type ServerResponse } from 'node:http'

/**
 * A small HTTP proxy on 127.0.0.1 (port chosen by the system) in front of a real registry, which
 * injects what registries under load answer: a status with headers of its choosing (429 with
 * `Retry-After`, 503), extra headers on the registry's real answers (`RateLimit-Remaining: 0`), a
 * hang (no answer at all: the client's timeout must end it), a reset (the connection destroyed).
 * It counts what it received; the registry's own access log tells what got through.
 */
export type Fault =
  | { kind: 'pass' }
  | { kind: 'status', status: number, headers?: Record<string, string> }
  | { kind: 'headers', headers: Record<string, string> }
  | { kind: 'hang' }
  | { kind: 'reset' }

export interface FaultProxy {
  /** host:port of the proxy: a registry name of its own */
  address: string
  fault: Fault
  /** requests received, by path */
  received: string[]
  /** requests held by a hang and not yet closed by the client */
  hanging: number
}

export async function startFaultProxy (t: { after: (fn: () => Promise<unknown>) => void }, target: string): Promise<FaultProxy> {
  const [host, port] = target.split(':')
  const proxy: FaultProxy = { address: '', fault: { kind: 'pass' }, received: [], hanging: 0 }
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    proxy.received.push(req.url ?? '')
    const fault = proxy.fault
    if (fault.kind === 'status') {
      res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers }).end('{"errors":[{"code":"TOOMANYREQUESTS","message":"injected"}]}')
      return
    }
    if (fault.kind === 'hang') {
      proxy.hanging++
      req.socket.once('close', () => { proxy.hanging-- })
      return
    }
    if (fault.kind === 'reset') {
      req.socket.destroy()
      return
    }
    const upstream = forward({ host, port: Number(port), method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, { ...answer.headers, ...(fault.kind === 'headers' ? fault.headers : {}) })
      answer.pipe(res)
    })
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  proxy.address = `127.0.0.1:${(server.address() as { port: number }).port}`
  t.after(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) }))
  return proxy
}
