import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Admission, Authenticator } from './authenticator.js'
import { clientKey } from './client-key.js'

/** Where the gate leaves its decision for the auth plugin's hook: a request is decided once. */
export const kAdmission = Symbol('container-updater.admission')
export type AdmittedRequest = IncomingMessage & { [kAdmission]?: Admission | Promise<Admission> }

export interface RefusalGateOptions {
  authenticator: Authenticator
  /** `METHOD /path` of every route that needs a token, with static paths only */
  routes: ReadonlySet<string>
  /** the client address as Fastify's `request.ip` gives it (TRUST_PROXY applied) */
  clientAddress: (raw: IncomingMessage) => string | undefined
  /** the request id, as Fastify's genReqId makes it */
  requestId: (raw: IncomingMessage) => string
  /** false while the app closes, or when each refusal must be logged (debug): Fastify answers */
  active: () => boolean
  /** the HTTP metrics of a request answered here */
  onAnswered: (method: string, route: string, statusCode: number, seconds: number) => void
}

/**
 * Refuses a request with a bad token before Fastify sees it, with the answer the auth plugin's hook
 * would give: same authenticator (so the same limiter, counters and warning), same body, the
 * request id and Retry-After headers, the same HTTP metrics. A flood of forged or missing tokens
 * then costs the token check and a write, not a Fastify request, a child logger and four hooks
 * (measured: docs/BENCHMARKS.md). Anything the gate is not sure of goes to Fastify unchanged: a
 * path or method that is not exactly a token route's, a token that passes (its decision is handed
 * on, not taken twice), while closing (Fastify answers 503), and at debug level.
 *
 * Returns true when it answered the request.
 */
export function refusalGate (options: RefusalGateOptions): (raw: IncomingMessage, res: ServerResponse) => boolean {
  const { authenticator, routes, clientAddress, requestId, active, onAnswered } = options
  return function gate (raw: IncomingMessage, res: ServerResponse): boolean {
    const url = raw.url ?? ''
    const query = url.indexOf('?')
    const route = `${raw.method ?? ''} ${query === -1 ? url : url.slice(0, query)}`
    if (!routes.has(route) || !active()) return false
    const address = clientAddress(raw)
    if (address === undefined) return false
    const started = performance.now()
    const admission = authenticator.admit(raw, clientKey(address))
    if (admission instanceof Promise || admission.ok) {
      (raw as AdmittedRequest)[kAdmission] = admission
      return false
    }
    const payload = admission.payload
    const headers: Record<string, string | number> = {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(payload),
      'x-request-id': requestId(raw)
    }
    if (admission.retryAfter !== undefined) headers['retry-after'] = String(admission.retryAfter)
    res.writeHead(admission.body.statusCode, headers)
    res.end(payload)
    onAnswered(raw.method!, route.slice(raw.method!.length + 1), admission.body.statusCode, (performance.now() - started) / 1000)
    return true
  }
}
