import { InvalidHookBody } from './errors.js'
import { derivedEventId, field, hostOf, pushEvent, refusalOf, text, type IgnoreReason, type ParsedDelivery, type PushEvent } from './events.js'

/** The media type of Distribution's notification envelope (2.x). */
export const DISTRIBUTION_EVENTS_TYPE = 'application/vnd.docker.distribution.events.v1+json'

/**
 * The media type Distribution 3.x (`registry:3`, GitLab's registry) posts: the envelope is the same.
 * @see https://github.com/distribution/distribution/blob/main/notifications/event.go (EventsMediaType)
 */
export const DISTRIBUTION_V3_EVENTS_TYPE = 'application/vnd.docker.distribution.events.v2+json'

/**
 * CNCF Distribution notifications (also Debian's docker-registry, GitLab's registry; zot sends CloudEvents, zot.ts):
 * `{ events: [{ id, action, target: { mediaType, repository, tag?, digest, url }, request: { host } }] }`.
 * A push sends one event per blob, then one for the manifest; only a manifest pushed by tag names
 * a tag, so blob pushes, by-digest pushes, pulls, mounts and deletes are ignored.
 * @see https://github.com/distribution/distribution/blob/main/notifications/event.go
 */
export function parseDistribution (body: unknown): ParsedDelivery {
  const list = field(body, 'events')
  if (!Array.isArray(list)) throw new InvalidHookBody('expected a notification envelope {"events": [...]}')
  const events: PushEvent[] = []
  const ignored: IgnoreReason[] = []
  for (const raw of list) {
    const event = field(raw, 'action') === 'push' ? fromPush(raw) : undefined
    if (event !== undefined) events.push(event)
    else ignored.push(field(raw, 'action') !== 'push' ? 'not-a-push' : text(field(raw, 'target', 'repository')) === undefined ? 'invalid-reference' : refusalOf(field(raw, 'target', 'tag')))
  }
  return { events, ignored }
}

/**
 * One Distribution-shaped event (also what Azure Container Registry posts, one per request,
 * without the envelope: src/hooks/acr.ts). `source` names the route it came by.
 */
export function fromPush (raw: unknown, source: 'distribution' | 'acr' = 'distribution'): PushEvent | undefined {
  const repository = text(field(raw, 'target', 'repository'))
  const tag = field(raw, 'target', 'tag')
  const digest = field(raw, 'target', 'digest')
  // The registry as its client addressed it: that is how the services name their images.
  const registry = text(field(raw, 'request', 'host')) ?? hostOf(field(raw, 'target', 'url'))
  if (repository === undefined || registry === undefined) return undefined
  const id = text(field(raw, 'id')) ?? derivedEventId(source, registry, repository, tag, digest, field(raw, 'timestamp'))
  return pushEvent({ source, id, registry, repository, tag, digest, pusher: field(raw, 'actor', 'name') })
}
