import { createHash } from 'node:crypto'
import { isIPv4 } from 'node:net'
import { normalizeRepository, parseImageRef } from './image-ref.js'
import { registryCredentials, type RegistryCredentials } from './registry-credentials.js'

/**
 * Which digest does a tag point to now? Asked of the registry directly, for dry-run plans.
 *
 * Docker pins what the daemon's `GET /distribution/{name}/json` answers (`docker service update`
 * calls it unless `--no-resolve-image`): the descriptor of `HEAD /v2/<path>/manifests/<tag>` sent with
 * every manifest type it knows in `Accept`, read from `Docker-Content-Digest` (GET and a hash of the
 * body when a registry sends no header; GET when HEAD answers 405). Because the Accept list holds the
 * index and manifest-list types, a multi-arch tag resolves to the digest of the index, not of one
 * platform's manifest: the spec shows `repo:tag@sha256:<index digest>`. We send the same list, so
 * our digest is the one Docker would pin. (moby api/server/router/distribution, docker/distribution
 * registry/client/repository.go `tags.Get`.)
 */
export type TagDigest = { digest: string } | { unavailable: string }

export interface ResolveTagDigestOptions {
  /** The updater's own Docker config.json: the credentials it updates services with. */
  dockerConfigPath: string
  /** Bound on the whole lookup (every request, the token and any credential helper). Default 5 s. */
  timeoutMs?: number
  fetch?: typeof fetch
}

const manifestAccept = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json'
].join(', ')
const manifestLimit = 4 * 1024 * 1024 // distribution refuses larger manifests
const tokenLimit = 1024 * 1024
const digestPattern = /^sha256:[0-9a-f]{64}$|^sha512:[0-9a-f]{128}$/
// Docker's reference grammar: path components and tags (anything else must not reach a URL).
const pathPattern = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/
const tagPattern = /^\w[\w.-]{0,127}$/
const hostPattern = /^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/

interface Target { registry: string, path: string, tag: string, endpoint: string, loopback: boolean }

class Unavailable extends Error {}

/** 127.0.0.0/8, localhost, [::1], with any port: registries Docker talks plain HTTP to without TLS. */
export function isLoopbackHost (hostWithPort: string): boolean {
  const host = hostWithPort.startsWith('[') ? hostWithPort.slice(0, hostWithPort.indexOf(']') + 1) : hostWithPort.split(':')[0]!
  return host === 'localhost' || host === '[::1]' || (isIPv4(host) && host.startsWith('127.'))
}

function targetOf (image: string): Target {
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

async function readLimited (response: Response, limit: number): Promise<Buffer> {
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

const basic = (username: string, password: string): string => `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`

class Lookup {
  constructor (readonly target: Target, readonly options: ResolveTagDigestOptions, readonly signal: AbortSignal) {}

  get fetch (): typeof fetch { return this.options.fetch ?? fetch }

  manifest (method: 'HEAD' | 'GET', authorization?: string): Promise<Response> {
    const { endpoint, path, tag } = this.target
    const headers: Record<string, string> = { accept: manifestAccept }
    if (authorization !== undefined) headers.authorization = authorization
    // Redirects are followed: fetch drops Authorization when one leaves the origin (checked on Node 20).
    return this.fetch(`${endpoint}/v2/${path}/manifests/${tag}`, { method, headers, signal: this.signal })
  }

  async run (): Promise<TagDigest> {
    let response = await this.manifest('HEAD')
    let authorization: string | undefined
    let credentials: RegistryCredentials = { kind: 'none' }
    if (response.status === 401) {
      await response.body?.cancel()
      credentials = await registryCredentials(this.options.dockerConfigPath, this.target.registry, this.signal)
      if (credentials.kind === 'unavailable') return { unavailable: credentials.reason }
      authorization = await this.authorize(parseChallenge(response.headers.get('www-authenticate')), credentials)
      response = await this.manifest('HEAD', authorization)
    }
    // Docker's fallbacks: GET when HEAD is not allowed, or when HEAD names no digest.
    if (response.status === 405 || (response.ok && response.headers.get('docker-content-digest') === null)) {
      await response.body?.cancel()
      response = await this.manifest('GET', authorization)
    }
    return this.digestOf(response, credentials)
  }

  async digestOf (response: Response, credentials: RegistryCredentials): Promise<TagDigest> {
    if (!response.ok) {
      await response.body?.cancel()
      const { status } = response
      if (status === 404) return { unavailable: 'the tag does not exist in the registry (404)' }
      if (status === 401 || status === 403) {
        return {
          unavailable: credentials.kind === 'none'
            ? `the registry requires authentication (${status}) and the updater has no credentials for ${this.target.registry}`
            : `the registry refused the updater's credentials for ${this.target.registry} (${status})`
        }
      }
      return { unavailable: `the registry answered ${status}` }
    }
    const header = response.headers.get('docker-content-digest')
    if (header !== null) {
      await response.body?.cancel()
      return digestPattern.test(header.trim()) ? { digest: header.trim() } : { unavailable: 'the registry sent a malformed digest' }
    }
    if (response.status !== 200) return { unavailable: `the registry answered ${response.status}` }
    const body = await readLimited(response, manifestLimit)
    if (body.length === 0) return { unavailable: 'the registry sent an empty manifest' }
    return { digest: `sha256:${createHash('sha256').update(body).digest('hex')}` }
  }

  /** The Authorization header for the retry, as the challenge asks; throws Unavailable when it cannot be met. */
  async authorize (challenge: ReturnType<typeof parseChallenge>, credentials: RegistryCredentials): Promise<string> {
    if (challenge?.scheme === 'basic') {
      if (credentials.kind === 'basic') return basic(credentials.username, credentials.password)
      throw new Unavailable(credentials.kind === 'none'
        ? `the registry requires authentication (401) and the updater has no credentials for ${this.target.registry}`
        : 'the registry asks for a password but the updater holds only an identity token')
    }
    if (challenge?.scheme !== 'bearer' || challenge.params.realm === undefined) {
      throw new Unavailable('the registry asks for an authentication scheme the updater does not support')
    }
    return `Bearer ${await this.token(challenge.params, credentials)}`
  }

  async token (params: Record<string, string>, credentials: RegistryCredentials): Promise<string> {
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
    let answer: { token?: unknown, access_token?: unknown }
    try {
      answer = JSON.parse((await readLimited(response, tokenLimit)).toString('utf8')) as typeof answer
    } catch (error) {
      if (error instanceof Unavailable) throw error
      throw new Unavailable('the registry\'s token service sent an unreadable answer')
    }
    const token = typeof answer?.token === 'string' && answer.token !== '' ? answer.token : answer?.access_token
    if (typeof token !== 'string' || token === '' || /[\r\n]/.test(token)) throw new Unavailable('the registry\'s token service sent no token')
    return token
  }
}

/** Why a request failed, in words that can hold no secret (no URL, no header, no server text). */
function describeFailure (error: unknown, timeoutMs: number): string {
  if (error instanceof Unavailable) return error.message
  const name = (error as Error | undefined)?.name
  if (name === 'TimeoutError' || name === 'AbortError') return `the registry did not answer within ${timeoutMs} ms`
  const code = ((error as { cause?: { code?: unknown } } | undefined)?.cause?.code)
  return typeof code === 'string' && /^[A-Z_]+$/.test(code) ? `the registry is unreachable (${code})` : 'the registry is unreachable'
}

/**
 * The digest `image` (`repo[:tag]`, no digest) points to now, or why it cannot be told. Never throws,
 * and never puts credentials into what it returns.
 */
export async function resolveTagDigest (image: string, options: ResolveTagDigestOptions): Promise<TagDigest> {
  const timeoutMs = options.timeoutMs ?? 5000
  try {
    const signal = AbortSignal.timeout(timeoutMs)
    return await new Lookup(targetOf(image), options, signal).run()
  } catch (error) {
    return { unavailable: describeFailure(error, timeoutMs) }
  }
}
