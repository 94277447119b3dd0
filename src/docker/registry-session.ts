import { isIPv4 } from 'node:net'
import { normalizeRepository, parseImageRef } from './image-ref.js'
import { registryCredentials, type RegistryCredentials } from './registry-credentials.js'

/**
 * Requests to one repository of a registry with the updater's own credentials: the one registry
 * client of the project (dry-run digests in registry-digest.ts, the watcher's HEADs and tag lists
 * in registry-tags.ts). A 401 is answered as the challenge asks (Basic, or a Bearer token from the
 * realm, as the Docker CLI does); tokens are kept in a TokenCache, when one is given, until they
 * expire, so a watch cycle does not ask the token service once per request.
 */
export interface Target { registry: string, path: string, tag: string, endpoint: string, loopback: boolean }

export class Unavailable extends Error {}

/** One answer of a registry to a request: its HTTP status, or `error` (network error, timeout). */
export interface RegistryResponse { method: 'HEAD' | 'GET', status: number | 'error' }

export interface SessionOptions {
  /** The updater's own Docker config.json: the credentials it updates services with. */
  dockerConfigPath: string
  fetch?: typeof fetch
  /** Tokens reused across sessions until they expire (the watcher keeps one). */
  tokens?: TokenCache
}

const tokenLimit = 1024 * 1024
// Docker's reference grammar: path components and tags (anything else must not reach a URL).
const pathPattern = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/
const tagPattern = /^\w[\w.-]{0,127}$/
const hostPattern = /^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/

/** 127.0.0.0/8, localhost, [::1], with any port: registries Docker talks plain HTTP to without TLS. */
export function isLoopbackHost (hostWithPort: string): boolean {
  const host = hostWithPort.startsWith('[') ? hostWithPort.slice(0, hostWithPort.indexOf(']') + 1) : hostWithPort.split(':')[0]!
  return host === 'localhost' || host === '[::1]' || (isIPv4(host) && host.startsWith('127.'))
}

export const isValidRegistryTag = (tag: string): boolean => tagPattern.test(tag)

/** Where `image` (`repo[:tag]`, no digest) is asked for; throws Unavailable for what must not reach a URL. */
export function targetOf (image: string): Target {
  let ref
  try {
    ref = parseImageRef(image)
  } catch {
    throw new Unavailable('invalid image reference')
  }
  if (ref.digest !== undefined) throw new Unavailable('the image is pinned by digest, not a tag')
  const { registry, path } = normalizeRepository(ref.repository)
  const tag = ref.tag ?? 'latest'
  if (!hostPattern.test(registry) || !pathPattern.test(path) || !tagPattern.test(tag)) throw new Unavailable('invalid image reference')
  const loopback = isLoopbackHost(registry)
  const endpoint = registry === 'docker.io' ? 'https://registry-1.docker.io' : `${loopback ? 'http' : 'https'}://${registry}`
  return { registry, path, tag, endpoint, loopback }
}

export async function readLimited (response: Response, limit: number): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? 0)
  if (declared > limit || response.body === null) {
    await response.body?.cancel()
    if (declared > limit) throw new Unavailable('the registry sent an oversized answer')
    return Buffer.alloc(0)
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of response.body) {
    size += chunk.byteLength
    if (size > limit) throw new Unavailable('the registry sent an oversized answer')
    chunks.push(Buffer.from(chunk))
  }
  return Buffer.concat(chunks)
}

/** `Bearer realm="…",service="…",scope="…"` → scheme and parameters (quoted values may hold commas). */
export function parseChallenge (header: string | null): { scheme: string, params: Record<string, string> } | undefined {
  const match = header === null ? null : /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header)
  if (match === null) return undefined
  const params: Record<string, string> = {}
  for (const [, key, quoted, bare] of match[2]!.matchAll(/([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g)) {
    params[key!.toLowerCase()] ??= quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : bare!
  }
  return { scheme: match[1]!.toLowerCase(), params }
}

/** Authorization headers by registry and repository, kept until the token service says they expire. */
export class TokenCache {
  readonly #entries = new Map<string, { authorization: string, expiresAt: number }>()
  constructor (readonly now: () => number = Date.now) {}

  get (key: string): string | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    if (entry.expiresAt > this.now()) return entry.authorization
    this.#entries.delete(key)
    return undefined
  }

  set (key: string, authorization: string, lifetimeMs: number): void {
    // Renewed 10 s early, so a token does not expire between our check and the registry's.
    if (lifetimeMs > 10_000) this.#entries.set(key, { authorization, expiresAt: this.now() + lifetimeMs - 10_000 })
  }

  delete (key: string): void {
    this.#entries.delete(key)
  }
}

const basic = (username: string, password: string): string => `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`

export class RegistrySession {
  credentials: RegistryCredentials = { kind: 'none' }
  /** every answer of the registry in this session, challenges included (the watcher's metrics) */
  readonly responses: RegistryResponse[] = []
  #authorization: string | undefined
  readonly #cacheKey: string

  constructor (readonly target: Target, readonly options: SessionOptions, readonly signal: AbortSignal) {
    this.#cacheKey = `${target.registry} ${target.path}`
    this.#authorization = options.tokens?.get(this.#cacheKey)
  }

  get fetch (): typeof fetch { return this.options.fetch ?? fetch }

  async send (method: 'HEAD' | 'GET', pathAndQuery: string, accept: string): Promise<Response> {
    const headers: Record<string, string> = { accept }
    if (this.#authorization !== undefined) headers.authorization = this.#authorization
    try {
      // Redirects are followed: fetch drops Authorization when one leaves the origin (checked on Node 20).
      const response = await this.fetch(`${this.target.endpoint}${pathAndQuery}`, { method, headers, signal: this.signal })
      this.responses.push({ method, status: response.status })
      return response
    } catch (error) {
      this.responses.push({ method, status: 'error' })
      throw error
    }
  }

  /** One request; a 401 is answered as its challenge asks and the request sent once more. */
  async request (method: 'HEAD' | 'GET', pathAndQuery: string, accept: string): Promise<Response> {
    const response = await this.send(method, pathAndQuery, accept)
    if (response.status !== 401) return response
    await response.body?.cancel()
    this.options.tokens?.delete(this.#cacheKey)
    this.credentials = await registryCredentials(this.options.dockerConfigPath, this.target.registry, this.signal)
    if (this.credentials.kind === 'unavailable') throw new Unavailable(this.credentials.reason)
    this.#authorization = await this.#authorize(parseChallenge(response.headers.get('www-authenticate')), this.credentials)
    return this.send(method, pathAndQuery, accept)
  }

  /** The Authorization header for the retry, as the challenge asks; throws Unavailable when it cannot be met. */
  async #authorize (challenge: ReturnType<typeof parseChallenge>, credentials: RegistryCredentials): Promise<string> {
    if (challenge?.scheme === 'basic') {
      if (credentials.kind === 'basic') return basic(credentials.username, credentials.password)
      throw new Unavailable(credentials.kind === 'none'
        ? `the registry requires authentication (401) and the updater has no credentials for ${this.target.registry}`
        : 'the registry asks for a password but the updater holds only an identity token')
    }
    if (challenge?.scheme !== 'bearer' || challenge.params.realm === undefined) {
      throw new Unavailable('the registry asks for an authentication scheme the updater does not support')
    }
    const { token, lifetimeMs } = await this.#token(challenge.params, credentials)
    const authorization = `Bearer ${token}`
    this.options.tokens?.set(this.#cacheKey, authorization, lifetimeMs)
    return authorization
  }

  async #token (params: Record<string, string>, credentials: RegistryCredentials): Promise<{ token: string, lifetimeMs: number }> {
    let realm: URL
    try {
      realm = new URL(params.realm!)
    } catch {
      throw new Unavailable('the registry names an invalid token service')
    }
    if (realm.username !== '' || realm.password !== '') throw new Unavailable('the registry names an invalid token service')
    // Credentials (or even an anonymous token request) go over plain HTTP only to a loopback
    // token service of a loopback registry: what Docker's default insecure range covers.
    const allowed = realm.protocol === 'https:' || (realm.protocol === 'http:' && this.target.loopback && isLoopbackHost(realm.host))
    if (!allowed) throw new Unavailable(`refused the token service at ${realm.protocol}//${realm.host}: not HTTPS`)
    const scope = params.scope ?? `repository:${this.target.path}:pull`
    let response: Response
    if (credentials.kind === 'identity-token') {
      // OAuth2 refresh-token grant, as the Docker CLI does with an identity token.
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credentials.token, client_id: 'container-updater', scope })
      if (params.service !== undefined) form.set('service', params.service)
      response = await this.fetch(realm, { method: 'POST', body: form, signal: this.signal })
    } else {
      if (params.service !== undefined) realm.searchParams.set('service', params.service)
      realm.searchParams.set('scope', scope)
      const headers: Record<string, string> = credentials.kind === 'basic' ? { authorization: basic(credentials.username, credentials.password) } : {}
      response = await this.fetch(realm, { headers, signal: this.signal })
    }
    if (!response.ok) {
      await response.body?.cancel()
      throw new Unavailable(credentials.kind === 'none'
        ? `the registry's token service refused an anonymous token (${response.status}) and the updater has no credentials for ${this.target.registry}`
        : `the registry's token service refused the updater's credentials for ${this.target.registry} (${response.status})`)
    }
    let answer: { token?: unknown, access_token?: unknown, expires_in?: unknown }
    try {
      answer = JSON.parse((await readLimited(response, tokenLimit)).toString('utf8')) as typeof answer
    } catch (error) {
      if (error instanceof Unavailable) throw error
      throw new Unavailable('the registry\'s token service sent an unreadable answer')
    }
    const token = typeof answer?.token === 'string' && answer.token !== '' ? answer.token : answer?.access_token
    if (typeof token !== 'string' || token === '' || /[\r\n]/.test(token)) throw new Unavailable('the registry\'s token service sent no token')
    // Distribution's token spec: 60 s when the service names no lifetime.
    const seconds = typeof answer.expires_in === 'number' && answer.expires_in > 0 ? answer.expires_in : 60
    return { token, lifetimeMs: seconds * 1000 }
  }
}

/** Why a request failed, in words that can hold no secret (no URL, no header, no server text). */
export function describeFailure (error: unknown, timeoutMs: number): string {
  if (error instanceof Unavailable) return error.message
  const name = (error as Error | undefined)?.name
  if (name === 'TimeoutError' || name === 'AbortError') return `the registry did not answer within ${timeoutMs} ms`
  const code = ((error as { cause?: { code?: unknown } } | undefined)?.cause?.code)
  return typeof code === 'string' && /^[A-Z_]+$/.test(code) ? `the registry is unreachable (${code})` : 'the registry is unreachable'
}

/**
 * What a registry says about its budget: `Retry-After` (seconds or an HTTP date) and
 * `RateLimit-Remaining` (Docker Hub: `76;w=21600`), where sent.
 */
export interface Budget { retryAfterMs?: number, remaining?: number }

export function budgetOf (headers: Headers, now = Date.now()): Budget {
  const budget: Budget = {}
  const retry = headers.get('retry-after')?.trim()
  if (retry !== undefined && retry !== '') {
    const ms = /^\d{1,9}$/.test(retry) ? Number(retry) * 1000 : Date.parse(retry) - now
    if (Number.isFinite(ms)) budget.retryAfterMs = Math.max(0, ms)
  }
  const remaining = /^\s*(\d{1,9})/.exec(headers.get('ratelimit-remaining') ?? '')
  if (remaining !== null) budget.remaining = Number(remaining[1])
  return budget
}

/** Failures the watcher backs off from (429, 5xx, network, timeout), as opposed to answers (404, 401). */
export const isBackoffStatus = (status: number): boolean => status === 429 || status >= 500
