import { InvalidHookBody } from './errors.js'
import { fromPush } from './distribution.js'
import { field, ignoring, refusalOf, type ParsedDelivery } from './events.js'

/**
 * Azure Container Registry webhooks: one Distribution-shaped event per request, without the
 * `events` envelope: `{ id, timestamp, action, target: { mediaType, size, digest, length,
 * repository, tag }, request: { id, host, method, useragent } }`. `request.host` is the registry
 * (`myregistry.azurecr.io`). Only `push` with a tag counts; `delete`, `chart_push`,
 * `chart_delete`, `quarantine` are answered and ignored. ACR signs nothing and sends only the
 * custom headers it is given: our bearer token goes there.
 * @see https://learn.microsoft.com/azure/container-registry/container-registry-webhook-reference
 */
export function parseAcr (body: unknown): ParsedDelivery {
  const action = field(body, 'action')
  if (typeof action !== 'string' || typeof field(body, 'target') !== 'object') {
    throw new InvalidHookBody('expected an Azure Container Registry event {"action", "target", "request"}')
  }
  if (action !== 'push') return { events: [], ignored: ignoring('not-a-push') }
  const event = fromPush(body, 'acr')
  return event === undefined ? { events: [], ignored: ignoring(refusalOf(field(body, 'target', 'tag'))) } : { events: [event], ignored: [] }
}
