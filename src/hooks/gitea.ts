import { InvalidHookBody } from './errors.js'
import { derivedEventId, field, hostOf, ignoring, pushEvent, refusalOf, text, type HookHeaders, type ParsedDelivery } from './events.js'

/**
 * Gitea and Forgejo package webhooks (`X-Gitea-Event: package`, Forgejo also `X-Forgejo-Event`):
 * `{ action: "created" | "deleted", package: { id, owner: { login }, type, name, version, html_url,
 * created_at }, sender }`, one delivery per pushed container tag (`version` is the tag; a push by
 * digest names the digest there). The container registry is served by the forge itself, so the
 * registry is the host of `html_url` and the image is `<host>/<owner>/<name>`. No digest is sent.
 * The event id is a hash of the signed package id, version and creation time (the delivery header
 * is not signed); re-pushing a tag creates the version anew, with a new time. The HMAC
 * (`X-Gitea-Signature` / `X-Forgejo-Signature`) is checked before this runs.
 * @see https://github.com/go-gitea/gitea/blob/main/modules/structs/hook.go (PackagePayload)
 * @see https://github.com/go-gitea/gitea/blob/main/modules/structs/package.go (Package)
 */
export function parseGitea (body: unknown, headers: HookHeaders): ParsedDelivery {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidHookBody('expected a JSON object')
  const kind = headers['x-forgejo-event'] ?? headers['x-gitea-event']
  // The forge's own ping and any event the webhook was subscribed to besides `package` are answered, and ignored.
  if (kind !== 'package') return { events: [], ignored: ignoring('not-a-push') }
  const pkg = field(body, 'package')
  if (typeof pkg !== 'object' || pkg === null) throw new InvalidHookBody('expected "package" in a package event')
  if (field(body, 'action') !== 'created') return { events: [], ignored: ignoring('not-a-push') }
  if (field(pkg, 'type') !== 'container') return { events: [], ignored: ignoring('not-a-container') }
  const tag = field(pkg, 'version')
  const owner = text(field(pkg, 'owner', 'login')) ?? text(field(pkg, 'owner', 'username'))
  const name = text(field(pkg, 'name'))
  const registry = hostOf(field(pkg, 'html_url'))
  if (owner === undefined || name === undefined || registry === undefined) return { events: [], ignored: ignoring('invalid-reference') }
  const id = derivedEventId('gitea', registry, field(pkg, 'id'), owner, name, tag, field(pkg, 'created_at'))
  const event = pushEvent({ source: 'gitea', id, registry, repository: `${owner}/${name}`, tag, pusher: field(body, 'sender', 'login') })
  return event === undefined ? { events: [], ignored: ignoring(refusalOf(tag)) } : { events: [event], ignored: [] }
}
