import { randomUUID } from 'node:crypto'
import { InvalidHookBody } from './errors.js'
import { field, ignoring, pushEvent, refusalOf, text, type IgnoreReason, type ParsedDelivery, type PushEvent } from './events.js'

/** Quay's URL token must be long and random: it is the whole credential. */
export const QUAY_TOKEN_MIN_LENGTH = 32

/**
 * Quay "Push to Repository" (`repo_push`) notifications by the Webhook POST method. The body is
 * the event data alone, with no event type: `{ repository, namespace, name, docker_url,
 * homepage, updated_tags: [...] }`; `docker_url` is `<SERVER_HOSTNAME>/<namespace>/<name>`, the
 * pullable repository. One event per tag in `updated_tags`. Quay's other events (builds,
 * vulnerabilities, mirroring) carry no `updated_tags` and are ignored. Quay sends no digest and no
 * event id: each delivery is a new event (a retried delivery is recognised only by the engine's
 * digest check, docs/WEBHOOKS.md). Quay signs nothing and sends no configured header: a long
 * random token in the URL path is the credential.
 * @see https://github.com/quay/quay/blob/master/notifications/__init__.py (build_repository_event_data)
 * @see https://github.com/quay/quay/blob/master/endpoints/v2/manifest.py (spawn_notification "repo_push")
 */
export function parseQuay (body: unknown): ParsedDelivery {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidHookBody('expected a Quay notification object')
  const tags = field(body, 'updated_tags')
  if (tags === undefined) return { events: [], ignored: ignoring('not-a-push') }
  if (!Array.isArray(tags)) throw new InvalidHookBody('expected updated_tags to be an array')
  const location = splitDockerUrl(text(field(body, 'docker_url')))
  if (location === undefined) return { events: [], ignored: ignoring('invalid-reference', Math.max(tags.length, 1)) }
  const delivery = randomUUID()
  const events: PushEvent[] = []
  const ignored: IgnoreReason[] = []
  for (const tag of tags) {
    const event = pushEvent({ source: 'quay', id: `${delivery}:${String(tag)}`, ...location, tag })
    if (event !== undefined) events.push(event)
    else ignored.push(refusalOf(tag))
  }
  return { events, ignored }
}

/** `quay.io/ns/app` (a scheme, should one be configured into SERVER_HOSTNAME, is dropped) → registry and path. */
function splitDockerUrl (url: string | undefined): { registry: string, repository: string } | undefined {
  if (url === undefined) return undefined
  const bare = url.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
  const slash = bare.indexOf('/')
  return slash > 0 && slash < bare.length - 1 ? { registry: bare.slice(0, slash), repository: bare.slice(slash + 1) } : undefined
}
