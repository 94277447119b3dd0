import { InvalidHookBody } from './errors.js'
import { canonicalRegistry } from '../docker/image-match.js'
import { derivedEventId, field, ignoring, pushEvent, refusalOf, text, type HookHeaders, type ParsedDelivery } from './events.js'

const PACKAGE_EVENTS = new Set(['registry_package', 'package'])

/**
 * GitHub `registry_package` / `package` webhooks for the container registry (ghcr.io): one
 * delivery per pushed tag, action `published` (or `updated`). The payload names the package
 * (`namespace`, `name`, `package_version.package_url` = `ghcr.io/<owner>/<name>:<tag>`) and the tag
 * (`package_version.container_metadata.tag.name`, empty for an untagged push). The event id is a
 * hash of the signed package version id, location, tag and digest. The signature is checked before this runs.
 * Only images on `registryHost` (ghcr.io, or a GitHub Enterprise Server's registry:
 * GITHUB_REGISTRY_HOST) are acted on: `package_url` is whatever the package names, and a push that
 * names another registry is ignored as `foreign-registry`.
 * @see https://docs.github.com/en/webhooks/webhook-events-and-payloads#registry_package
 */
export function parseGithub (body: unknown, headers: HookHeaders, registryHost = 'ghcr.io'): ParsedDelivery {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidHookBody('expected a JSON object')
  const kind = headers['x-github-event']
  // `ping` (sent when the webhook is created) and any event the webhook was subscribed to by
  // mistake are answered, and ignored.
  if (typeof kind !== 'string' || !PACKAGE_EVENTS.has(kind)) return { events: [], ignored: ignoring('not-a-push') }
  const action = field(body, 'action')
  const pkg = field(body, kind)
  if (typeof pkg !== 'object' || pkg === null) throw new InvalidHookBody(`expected "${kind}" in a ${kind} event`)
  if (action !== 'published' && action !== 'updated') return { events: [], ignored: ignoring('not-a-push') }
  const type = text(field(pkg, 'package_type')) ?? text(field(pkg, 'ecosystem'))
  if (type !== undefined && type.toUpperCase() !== 'CONTAINER' && type.toUpperCase() !== 'DOCKER') return { events: [], ignored: ignoring('not-a-container') }

  const version = field(pkg, 'package_version')
  const tag = field(version, 'container_metadata', 'tag', 'name')
  const versionDigest = field(version, 'version')
  const digest = typeof versionDigest === 'string' && versionDigest.startsWith('sha256:') ? versionDigest : field(version, 'container_metadata', 'tag', 'digest')
  const location = imageLocation(field(version, 'package_url'), pkg, registryHost)
  if (location === undefined) return { events: [], ignored: ignoring('invalid-reference') }
  if (canonicalRegistry(location.registry) !== canonicalRegistry(registryHost)) return { events: [], ignored: ignoring('foreign-registry') }
  // The id is derived from what GitHub signed, not from `X-GitHub-Delivery` (which is not signed:
  // a captured delivery replayed under a new GUID must still be a duplicate). The `package` and
  // `registry_package` deliveries of one push name the same version and digest, so they share it.
  const id = derivedEventId('github', location, tag, field(version, 'id'), digest)
  const event = pushEvent({ source: 'github', id, ...location, tag, digest, pusher: field(body, 'sender', 'login') })
  return event === undefined ? { events: [], ignored: ignoring(refusalOf(tag)) } : { events: [event], ignored: [] }
}

/**
 * Where the image lives. `package_url` is the pullable reference itself (GitHub Enterprise Server
 * names its own registry host there); otherwise `<registryHost>/<owner>/<name>`.
 */
function imageLocation (packageUrl: unknown, pkg: object, registryHost: string): { registry: string, repository: string } | undefined {
  if (typeof packageUrl === 'string') {
    const ref = packageUrl.replace(/@.*$/, '')
    const slash = ref.indexOf('/')
    const colon = ref.lastIndexOf(':')
    const path = ref.slice(slash + 1, colon > slash ? colon : undefined)
    const host = ref.slice(0, slash)
    if (slash > 0 && host.includes('.') && path.length > 0) return { registry: host, repository: path }
  }
  const name = text(field(pkg, 'name'))
  const namespace = text(field(pkg, 'namespace'))
  // `namespace` is the owner; older payloads put `owner/repository` there, so the owner's login wins then.
  const owner = namespace !== undefined && !namespace.includes('/') ? namespace : text(field(pkg, 'owner', 'login'))
  return name === undefined || owner === undefined ? undefined : { registry: registryHost, repository: `${owner}/${name}` }
}
