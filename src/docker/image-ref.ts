/**
 * Image references as Swarm stores them in a service spec: `[registry[:port]/]path[:tag][@digest]`.
 *
 * A registry host may carry a port (`127.0.0.1:5000/app:1.2@sha256:…`), so the tag is the part after
 * the last `:` only when that `:` comes after the last `/`.
 */
export interface ImageRef {
  /** Everything before the tag: registry host (with port) and path. */
  repository: string
  tag?: string
  digest?: string
}

export function parseImageRef (ref: string): ImageRef {
  if (ref.length === 0 || /\s/.test(ref)) throw new TypeError(`invalid image reference ${JSON.stringify(ref)}`)
  let rest = ref
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at !== -1) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
  }
  let tag: string | undefined
  const colon = rest.lastIndexOf(':')
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
  }
  if (rest.length === 0 || (tag !== undefined && tag.length === 0) || (digest !== undefined && digest.length === 0)) {
    throw new TypeError(`invalid image reference ${JSON.stringify(ref)}`)
  }
  return { repository: rest, ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) }
}

/** The digest a reference is pinned to, or undefined (also when it does not parse). */
export function imageDigest (ref: string): string | undefined {
  try {
    return parseImageRef(ref).digest
  } catch {
    return undefined
  }
}

export function formatImageRef ({ repository, tag, digest }: ImageRef): string {
  return repository + (tag !== undefined ? `:${tag}` : '') + (digest !== undefined ? `@${digest}` : '')
}

/**
 * The reference to roll a service onto: its repository and tag without the pinned digest (so the
 * Docker CLI asks the registry for the tag's current digest), or the same repository with `tag`.
 * Returns undefined when the service is pinned by digest only and no tag was given: there is no tag
 * whose newest image we could look up.
 */
export function targetImage (currentImage: string, tag?: string): string | undefined {
  const { repository, tag: currentTag, digest } = parseImageRef(currentImage)
  // `repo` alone means `repo:latest`; `repo@sha256:…` alone names no tag at all.
  const wanted = tag ?? currentTag ?? (digest === undefined ? 'latest' : undefined)
  return wanted === undefined ? undefined : `${repository}:${wanted}`
}

/** Docker's rule: the first component of a repository is a registry only if it looks like a host. */
function isRegistryHost (first: string): boolean {
  return first.includes('.') || first.includes(':') || first === 'localhost'
}

/** The registry host an image is pulled from, as keyed in Docker's config.json. */
export function registryHost (image: string): string {
  const { repository } = parseImageRef(image)
  const slash = repository.indexOf('/')
  const first = slash === -1 ? '' : repository.slice(0, slash)
  return isRegistryHost(first) ? first : 'docker.io'
}

/** Docker Hub answers under several names; Docker itself treats them as one (`docker.io`). */
const DOCKER_HUB_NAMES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io'])

/** A registry host as Docker compares it: lower-case (host names are case-insensitive), Docker Hub as `docker.io`. */
export function normalizeRegistry (host: string): string {
  const lower = host.toLowerCase()
  return DOCKER_HUB_NAMES.has(lower) ? 'docker.io' : lower
}

/** A path inside a (normalised) registry: Docker Hub's official images live under `library/`. */
export function normalizePath (registry: string, path: string): string {
  return registry === 'docker.io' && !path.includes('/') ? `library/${path}` : path
}

/**
 * A repository as Docker normalises it: `nginx` → `docker.io/library/nginx`, `user/app` →
 * `docker.io/user/app`, `index.docker.io/x` → `docker.io/x`; the registry host is lower-cased
 * (host names are case-insensitive), the path is kept (Docker rejects upper case there anyway).
 */
export function normalizeRepository (repository: string): { registry: string, path: string, full: string } {
  const slash = repository.indexOf('/')
  const first = slash === -1 ? '' : repository.slice(0, slash)
  const hasRegistry = isRegistryHost(first)
  const registry = hasRegistry ? normalizeRegistry(first) : 'docker.io'
  const path = normalizePath(registry, hasRegistry ? repository.slice(slash + 1) : repository)
  return { registry, path, full: `${registry}/${path}` }
}

/** `repo[:tag]` (no digest) normalised, with `latest` when no tag is given: for image targets. */
export function normalizeImageTarget (ref: string): { registry: string, path: string, tag: string, full: string } {
  const parsed = parseImageRef(ref)
  if (parsed.digest !== undefined) throw new TypeError(`image target ${JSON.stringify(ref)} must not carry a digest`)
  const repo = normalizeRepository(parsed.repository)
  const tag = parsed.tag ?? 'latest'
  return { ...repo, tag, full: `${repo.full}:${tag}` }
}
