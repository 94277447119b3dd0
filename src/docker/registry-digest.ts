import { createHash } from 'node:crypto'
import { budgetOf, describeFailure, isBackoffStatus, readLimited, RegistrySession, targetOf, Unavailable, type Budget, type RegistryResponse, type SessionOptions } from './registry-session.js'
import type { RegistryCredentials } from './registry-credentials.js'

export { isLoopbackHost, parseChallenge } from './registry-session.js'

/**
 * Which digest does a tag point to now? Asked of the registry directly, for dry-run plans and the
 * watcher's checks (DESIGN §7: a HEAD, which Docker Hub does not count as a pull).
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

/** A check with what the watcher needs beyond the digest: the registry's budget, whether to back off. */
export type TagDigestCheck = ({ digest: string } | { unavailable: string, backoff: boolean }) & { budget: Budget, responses?: RegistryResponse[] }

export interface ResolveTagDigestOptions extends SessionOptions {
  /** Bound on the whole lookup (every request, the token and any credential helper). Default 5 s. */
  timeoutMs?: number
}

const manifestAccept = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json'
].join(', ')
const manifestLimit = 4 * 1024 * 1024 // distribution refuses larger manifests
const digestPattern = /^sha256:[0-9a-f]{64}$|^sha512:[0-9a-f]{128}$/

async function lookup (session: RegistrySession): Promise<TagDigestCheck> {
  const path = `/v2/${session.target.path}/manifests/${session.target.tag}`
  let response = await session.request('HEAD', path, manifestAccept)
  // Docker's fallbacks: GET when HEAD is not allowed, or when HEAD names no digest.
  if (response.status === 405 || (response.ok && response.headers.get('docker-content-digest') === null)) {
    await response.body?.cancel()
    response = await session.request('GET', path, manifestAccept)
  }
  const budget = budgetOf(response.headers)
  const result = await digestOf(session, response, session.credentials)
  return { ...result, budget, responses: session.responses }
}

async function digestOf (session: RegistrySession, response: Response, credentials: RegistryCredentials): Promise<{ digest: string } | { unavailable: string, backoff: boolean }> {
  if (!response.ok) {
    await response.body?.cancel()
    const { status } = response
    const backoff = isBackoffStatus(status)
    if (status === 404) return { unavailable: 'the tag does not exist in the registry (404)', backoff }
    if (status === 429) return { unavailable: 'the registry limits requests (429)', backoff }
    if (status === 401 || status === 403) {
      return {
        unavailable: credentials.kind === 'none'
          ? `the registry requires authentication (${status}) and the updater has no credentials for ${session.target.registry}`
          : `the registry refused the updater's credentials for ${session.target.registry} (${status})`,
        backoff
      }
    }
    return { unavailable: `the registry answered ${status}`, backoff }
  }
  const header = response.headers.get('docker-content-digest')
  if (header !== null) {
    await response.body?.cancel()
    return digestPattern.test(header.trim()) ? { digest: header.trim() } : { unavailable: 'the registry sent a malformed digest', backoff: false }
  }
  if (response.status !== 200) return { unavailable: `the registry answered ${response.status}`, backoff: false }
  const body = await readLimited(response, manifestLimit)
  if (body.length === 0) return { unavailable: 'the registry sent an empty manifest', backoff: false }
  return { digest: `sha256:${createHash('sha256').update(body).digest('hex')}` }
}

/**
 * The digest `image` (`repo[:tag]`, no digest) points to now, or why it cannot be told, with the
 * registry's budget. Never throws, and never puts credentials into what it returns. Network errors
 * and timeouts are `backoff`, like 429 and 5xx; refusals of our own making (an invalid reference, a
 * token service we will not send credentials to) are not.
 */
export async function checkTagDigest (image: string, options: ResolveTagDigestOptions): Promise<TagDigestCheck> {
  const timeoutMs = options.timeoutMs ?? 5000
  let session: RegistrySession | undefined
  try {
    const signal = AbortSignal.timeout(timeoutMs)
    session = new RegistrySession(targetOf(image), options, signal)
    return await lookup(session)
  } catch (error) {
    return { unavailable: describeFailure(error, timeoutMs), backoff: !(error instanceof Unavailable), budget: {}, responses: session?.responses ?? [] }
  }
}

/** The digest `image` points to now, or why it cannot be told (dry runs). */
export async function resolveTagDigest (image: string, options: ResolveTagDigestOptions): Promise<TagDigest> {
  const check = await checkTagDigest(image, options)
  return 'digest' in check ? { digest: check.digest } : { unavailable: check.unavailable }
}
