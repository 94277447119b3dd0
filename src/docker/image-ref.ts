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

/** The registry host an image is pulled from, as keyed in Docker's config.json. */
export function registryHost (image: string): string {
  const { repository } = parseImageRef(image)
  const slash = repository.indexOf('/')
  const first = slash === -1 ? '' : repository.slice(0, slash)
  // Docker's rule: the first component is a registry only if it looks like a host.
  if (first.includes('.') || first.includes(':') || first === 'localhost') return first
  return 'docker.io'
}
