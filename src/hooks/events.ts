import { createHash } from 'node:crypto'
import { imageDigest, normalizePath } from '../docker/image-ref.js'
import { canonicalRegistry, parseRegistryAliases, runsImage, type RegistryAliases } from '../docker/image-match.js'
import { isValidTag } from '../docker/names.js'

/** Every route a registry can post to (docs/WEBHOOKS.md has one section per source). */
export const HOOK_SOURCES = ['distribution', 'github', 'harbor', 'dockerhub', 'acr', 'quay', 'gitea', 'zot'] as const
export type HookSource = typeof HOOK_SOURCES[number]

/**
 * Why an event a source reported is not acted on: a fixed set, so the answer can name it and
 * /metrics can count it by (source, reason) without unbounded label values (docs/API.md).
 */
export const IGNORE_REASONS = {
  'not-a-push': 'an event or action that is not an image push (pull, delete, scan, ping, another event type)',
  untagged: 'a blob, or a manifest pushed by digest: no tag to follow',
  'invalid-reference': 'no usable registry, repository or tag in the event',
  'foreign-registry': 'the event names a registry this route does not act for',
  'not-a-container': 'a package of another type (npm, maven, ...)'
} as const
export type IgnoreReason = keyof typeof IGNORE_REASONS

/**
 * A registry push, the same whatever registry reported it (docs/API.md §2 "POST /hooks/{source}").
 * An event is a trigger, not a pin: the update rolls onto whatever the tag points to when Docker
 * resolves it, so a late or replayed event cannot roll a service back.
 */
export interface PushEvent {
  source: HookSource
  /** the provider's event id (or a hash of what identifies the push): repeated deliveries share it */
  id: string
  /** lower-case `host[:port]`; `docker.io` for Docker Hub, `ghcr.io` for GitHub */
  registry: string
  /** path inside the registry, e.g. `team/app`; Docker Hub official images as `library/nginx` */
  repository: string
  tag: string
  /** the pushed manifest digest, when the provider names it */
  digest?: string
  /** who pushed, when the provider says (for the audit line only: it proves nothing) */
  pusher?: string
}

/** Who delivered the events: the source, and what its credential allows (token scope). */
export interface PushOrigin {
  source: HookSource
  /** `sub` of our bearer token (distribution, harbor); undefined for GitHub and Docker Hub */
  subject?: string
  tokenId?: string
  /** the token's `services` claim: undefined means no scope (every labelled service) */
  services?: string[]
}

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/

/**
 * Builds a PushEvent from what a provider reported, or undefined when it is not a tag push we can
 * act on (no tag, an invalid tag, a digest where the tag should be, no repository or registry).
 */
export function pushEvent (fields: { source: HookSource, id: string, registry: string, repository: string, tag: unknown, digest?: unknown, pusher?: unknown }): PushEvent | undefined {
  const { source, id, tag, digest, pusher } = fields
  if (!isValidTag(tag) || fields.repository.length === 0 || fields.registry.length === 0) return undefined
  const registry = canonicalRegistry(fields.registry)
  // Registries store paths in lower case (Docker refuses upper case); GitHub reports owner names
  // as spelled on GitHub.
  let repository = fields.repository.toLowerCase().replace(/^\/+|\/+$/g, '')
  if (repository.length === 0 || !/^[a-z0-9._/-]+$/.test(repository)) return undefined
  repository = normalizePath(registry, repository)
  return {
    source,
    id,
    registry,
    repository,
    tag,
    ...(typeof digest === 'string' && DIGEST_RE.test(digest) && { digest }),
    ...(typeof pusher === 'string' && pusher.length > 0 && { pusher: pusher.slice(0, 255) })
  }
}

/** A stable event id from the fields that identify one push, for providers that send none. */
export function derivedEventId (...parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32)
}

/**
 * Does a service running `serviceImage` (its spec image, `[registry/]path[:tag][@digest]`) follow
 * the pushed repository and tag? The one image matcher (src/docker/image-match.ts) with what hooks
 * add: registries compare through `aliases` (HOOK_REGISTRY_ALIASES) and paths regardless of case.
 * Docker Hub official images match with or without `library/`; no tag means `latest`; an image
 * pinned by digest alone follows no tag, so it never matches.
 */
export function matchesPush (serviceImage: string, event: PushEvent, aliases: RegistryAliases | string = new Map()): boolean {
  const table = typeof aliases === 'string' ? parseRegistryAliases(aliases) : aliases
  return runsImage(serviceImage, { registry: event.registry, path: event.repository, tag: event.tag }, { aliases: table, ignorePathCase: true })
}

/** The service spec already pins the pushed digest: updating it would restart for nothing. */
export function isOnDigest (serviceImage: string, event: PushEvent): boolean {
  return event.digest !== undefined && imageDigest(serviceImage) === event.digest
}

/** `registry/repository:tag`, for log lines and `image` targets. */
export function pushedImage (event: PushEvent): string {
  return `${event.registry}/${event.repository}:${event.tag}`
}

/** What a parser made of one delivery: the tag pushes, and why each other event did not count. */
export interface ParsedDelivery {
  events: PushEvent[]
  /** one reason per event that was not acted on */
  ignored: IgnoreReason[]
}

/** `n` events ignored for one reason. */
export const ignoring = (reason: IgnoreReason, n = 1): IgnoreReason[] => Array.from({ length: n }, () => reason)

/** The ignored events as the answer names them: one entry per reason, with its count, in a stable order. */
export function countReasons (ignored: readonly IgnoreReason[]): Array<{ reason: IgnoreReason, count: number }> {
  const counts = new Map<IgnoreReason, number>()
  for (const reason of ignored) counts.set(reason, (counts.get(reason) ?? 0) + 1)
  return (Object.keys(IGNORE_REASONS) as IgnoreReason[]).filter((r) => counts.has(r)).map((reason) => ({ reason, count: counts.get(reason)! }))
}

/**
 * Why `pushEvent` made nothing of an event: no tag or a digest where the tag should be is
 * `untagged`; anything else it refused is `invalid-reference`.
 */
export function refusalOf (tag: unknown): IgnoreReason {
  return tag === undefined || tag === null || tag === '' || (typeof tag === 'string' && /^sha256:/.test(tag)) ? 'untagged' : 'invalid-reference'
}

export type HookHeaders = Readonly<Record<string, string | string[] | undefined>>

/** A JSON object's property, or undefined (bodies come from outside: nothing is assumed). */
export function field (value: unknown, ...path: string[]): unknown {
  let current = value
  for (const key of path) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined
    current = Object.hasOwn(current, key) ? (current as Record<string, unknown>)[key] : undefined
  }
  return current
}

export const text = (value: unknown): string | undefined => typeof value === 'string' && value.length > 0 ? value : undefined

/** The `host[:port]` of a URL a body names, or undefined when it is not one. */
export function hostOf (url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined
  try {
    return text(new URL(url).host)
  } catch {
    return undefined
  }
}
