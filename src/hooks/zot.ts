import { InvalidHookBody } from './errors.js'
import { derivedEventId, field, ignoring, pushEvent, refusalOf, text, type HookHeaders, type ParsedDelivery } from './events.js'

const REGISTRY_RE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/

/** The zot event type that reports a tag (or digest) pointing at a new manifest. */
export const ZOT_IMAGE_UPDATED = 'zotregistry.image.updated'

/**
 * Zot's events extension (HTTP sink): CloudEvents 1.0 in binary mode, as the CloudEvents Go SDK
 * sends them: the attributes in `Ce-Id`, `Ce-Type`, `Ce-Source` (`zotregistry.dev`), `Ce-Time`
 * headers, and the data as the body (`application/json`): `{ name, reference, digest, mediaType,
 * manifest, actor?: { name }, request?: { addr, method, useragent } }`. A structured-mode event
 * (`application/cloudevents+json`, the attributes and `data` in the body) is read too.
 * `zotregistry.image.updated` with a tag `reference` counts; `image.deleted`, `image.lint_failed`,
 * `image.scanned` and `repository.created` are answered and ignored. Zot names no registry host:
 * the sink address carries it (`?registry=host[:port]`, `registry` here). Authenticated with our
 * bearer token, which zot sends from the sink's `credentials.token`.
 * @see https://github.com/project-zot/zot/blob/main/pkg/extensions/events/events.go
 * @see https://github.com/project-zot/zot/blob/main/pkg/extensions/events/http_sink.go
 */
export function parseZot (body: unknown, headers: HookHeaders, registry: string | undefined): ParsedDelivery {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidHookBody('expected a JSON object')
  const structured = field(body, 'specversion') !== undefined
  const type = structured ? field(body, 'type') : headers['ce-type']
  if (typeof type !== 'string') throw new InvalidHookBody('expected a CloudEvent: no Ce-Type header and no "type"')
  if (type !== ZOT_IMAGE_UPDATED) return { events: [], ignored: ignoring('not-a-push') }
  if (registry === undefined) throw new InvalidHookBody('zot events name no registry: add ?registry=<host[:port]> to the sink address')
  if (!REGISTRY_RE.test(registry)) throw new InvalidHookBody('?registry= must be a registry host[:port]')
  const data = structured ? field(body, 'data') : body
  const repository = text(field(data, 'name'))
  const tag = field(data, 'reference')
  const digest = field(data, 'digest')
  if (repository === undefined) return { events: [], ignored: ignoring('invalid-reference') }
  const ceId = structured ? field(body, 'id') : headers['ce-id']
  const id = typeof ceId === 'string' && ceId.length > 0 && ceId.length <= 128 ? ceId : derivedEventId('zot', registry, repository, tag, digest)
  const event = pushEvent({ source: 'zot', id, registry, repository, tag, digest, pusher: field(data, 'actor', 'name') })
  return event === undefined ? { events: [], ignored: ignoring(refusalOf(tag)) } : { events: [event], ignored: [] }
}
