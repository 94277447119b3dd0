import { normalizePath, normalizeRegistry, normalizeRepository, parseImageRef } from './image-ref.js'

/**
 * The one answer to "does this service run that image?", for POST /update `image` targets
 * (src/engine/find-services.ts) and for registry pushes (src/hooks/push.ts). Both compare as Docker
 * normalises references (`nginx` = `docker.io/library/nginx`, `index.docker.io` = `docker.io`, the
 * registry host in any case, no tag = `latest`); they differ only in the options below
 * (docs/DESIGN-NOTES.md, "Image matching", says why).
 */

/** `host[:port]` → the name it is compared by (every alias of one registry maps to one name). */
export type RegistryAliases = ReadonlyMap<string, string>

/** A registry host as compared: Docker's normal form (lower case, Docker Hub as docker.io), then its alias group. */
export function canonicalRegistry (host: string, aliases: RegistryAliases = new Map()): string {
  const normal = normalizeRegistry(host)
  return aliases.get(normal) ?? normal
}

/**
 * `HOOK_REGISTRY_ALIASES`: `a=b,c=d` says a and b name the same registry (as do c and d), e.g.
 * `localhost:5000=127.0.0.1:5000`. Chains join (`a=b,b=c`). Every member of a group maps to the
 * group's smallest name, so comparison is one lookup per side. Throws on a malformed pair.
 */
export function parseRegistryAliases (value: string | undefined): RegistryAliases {
  const parent = new Map<string, string>()
  const find = (x: string): string => {
    let root = x
    while (parent.has(root) && parent.get(root) !== root) root = parent.get(root)!
    return root
  }
  for (const pair of (value ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0)) {
    const sides = pair.split('=').map((s) => s.trim())
    if (sides.length !== 2 || sides.some((s) => !/^[A-Za-z0-9.[\]:-]+$/.test(s))) {
      throw new TypeError(`invalid registry alias ${JSON.stringify(pair)}: expected host[:port]=host[:port]`)
    }
    const [a, b] = sides.map((s) => canonicalRegistry(s)) as [string, string]
    for (const x of [a, b]) if (!parent.has(x)) parent.set(x, x)
    const [ra, rb] = [find(a), find(b)]
    if (ra !== rb) parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb)
  }
  const aliases = new Map<string, string>()
  for (const name of parent.keys()) aliases.set(name, find(name))
  return aliases
}

/** What is looked for: a registry host, a path inside it, a tag. */
export interface WantedImage {
  registry: string
  path: string
  tag: string
}

export interface ImageMatchOptions {
  /** registries that are one (HOOK_REGISTRY_ALIASES); none unless given */
  aliases?: RegistryAliases
  /** compare paths regardless of case (a push event's path as its provider spelled it); exact unless set */
  ignorePathCase?: boolean
}

/**
 * Does a service whose spec image is `specImage` (`[registry/]path[:tag][@digest]`) run `wanted`?
 * An image pinned by digest alone follows no tag, so it never matches; one that does not parse
 * matches nothing.
 */
export function runsImage (specImage: string, wanted: WantedImage, options: ImageMatchOptions = {}): boolean {
  let ref
  try {
    ref = parseImageRef(specImage)
  } catch {
    return false
  }
  if (ref.tag === undefined && ref.digest !== undefined) return false
  if ((ref.tag ?? 'latest') !== wanted.tag) return false
  const { aliases, ignorePathCase = false } = options
  const { registry, path } = normalizeRepository(ref.repository)
  if (canonicalRegistry(registry, aliases) !== canonicalRegistry(wanted.registry, aliases)) return false
  const wantedPath = normalizePath(normalizeRegistry(wanted.registry), wanted.path)
  return ignorePathCase ? path.toLowerCase() === wantedPath.toLowerCase() : path === wantedPath
}
