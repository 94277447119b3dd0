import { InvalidHookBody } from './errors.js'
import { derivedEventId, field, ignoring, pushEvent, refusalOf, text, type IgnoreReason, type ParsedDelivery, type PushEvent } from './events.js'

/** Harbor's CloudEvents format posts this content type (its default format posts application/json). */
export const CLOUDEVENTS_TYPE = 'application/cloudevents+json'

/**
 * Harbor webhooks, `PUSH_ARTIFACT` in the default format (Harbor 1.x and Tencent Container Registry
 * send the same body with `type: "pushImage"`)
 * (`{ type, occur_at, operator, event_data: { resources: [{ digest, tag, resource_url }], repository: { repo_full_name } } }`)
 * or `harbor.artifact.pushed` in the CloudEvents format (same `event_data` under `data`, with an `id`).
 * The registry host comes from `resource_url` (`harbor.example.com/project/app:tag`), which Harbor
 * builds from its external URL. The default format carries no event id: the id is derived from the
 * push itself (registry, repository, tag, digest, time), so a retried delivery, or the same push
 * reported by two webhook policies, is recognised.
 * @see https://github.com/goharbor/harbor/blob/main/src/pkg/notifier/formats/default.go
 */
export function parseHarbor (body: unknown): ParsedDelivery {
  const cloudEvent = field(body, 'specversion') !== undefined
  const type = field(body, 'type')
  if (typeof type !== 'string') throw new InvalidHookBody('expected a Harbor webhook payload with a "type"')
  const data = cloudEvent ? field(body, 'data') : field(body, 'event_data')
  const resources = field(data, 'resources')
  const isPush = cloudEvent ? type === 'harbor.artifact.pushed' : PUSH_TYPES.has(type)
  if (!isPush) return { events: [], ignored: ignoring('not-a-push', Array.isArray(resources) ? Math.max(resources.length, 1) : 1) }
  if (!Array.isArray(resources)) throw new InvalidHookBody('expected event_data.resources to be an array')
  const repository = text(field(data, 'repository', 'repo_full_name'))
  const pusher = field(body, 'operator')
  const events: PushEvent[] = []
  const ignored: IgnoreReason[] = []
  for (const resource of resources) {
    const tag = field(resource, 'tag')
    const digest = field(resource, 'digest')
    const registry = registryOf(field(resource, 'resource_url'))
    if (repository === undefined || registry === undefined) {
      ignored.push('invalid-reference')
      continue
    }
    const id = derivedEventId('harbor', registry, repository, tag, digest, field(body, cloudEvent ? 'time' : 'occur_at'))
    const event = pushEvent({ source: 'harbor', id, registry, repository, tag, digest, pusher })
    if (event !== undefined) events.push(event)
    else ignored.push(refusalOf(tag))
  }
  return { events, ignored }
}

/**
 * The default format's push types: Harbor 2 (`PUSH_ARTIFACT`), and Harbor 1.x / Tencent Container
 * Registry (`pushImage`, same `event_data`).
 * @see https://intl.cloud.tencent.com/document/product/1051/37254
 */
const PUSH_TYPES = new Set(['PUSH_ARTIFACT', 'pushImage'])

/** `harbor.example.com:8443/library/app:1.0` (older Harbors prefix a scheme) → the host. */
function registryOf (resourceUrl: unknown): string | undefined {
  if (typeof resourceUrl !== 'string') return undefined
  const withoutScheme = resourceUrl.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
  const slash = withoutScheme.indexOf('/')
  return slash > 0 ? withoutScheme.slice(0, slash) : undefined
}
