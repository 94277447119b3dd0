import { InvalidHookBody } from './errors.js'
import { derivedEventId, field, ignoring, pushEvent, refusalOf, text, type ParsedDelivery } from './events.js'

/** Docker Hub's URL token must be long and random: it is the whole credential. */
export const DOCKERHUB_TOKEN_MIN_LENGTH = 32

/**
 * Docker Hub repository webhooks: `{ push_data: { tag, pushed_at, pusher }, repository: { repo_name,
 * namespace, name }, callback_url }`, one per pushed tag. Docker Hub signs nothing and sends no
 * event id: the id is derived from repository, tag and push time, so a retried delivery is
 * recognised. The image is on docker.io.
 * @see https://docs.docker.com/docker-hub/repos/manage/webhooks/
 */
export function parseDockerhub (body: unknown): ParsedDelivery {
  const pushData = field(body, 'push_data')
  const repo = field(body, 'repository')
  if (typeof pushData !== 'object' || pushData === null || typeof repo !== 'object' || repo === null) {
    throw new InvalidHookBody('expected a Docker Hub payload with push_data and repository')
  }
  const name = text(field(repo, 'name'))
  const namespace = text(field(repo, 'namespace'))
  const repository = text(field(repo, 'repo_name')) ?? (name !== undefined && namespace !== undefined ? `${namespace}/${name}` : undefined)
  const tag = field(pushData, 'tag')
  const pushedAt = field(pushData, 'pushed_at')
  if (repository === undefined) return { events: [], ignored: ignoring('invalid-reference') }
  const id = derivedEventId('dockerhub', repository, tag, pushedAt)
  const event = pushEvent({ source: 'dockerhub', id, registry: 'docker.io', repository, tag, pusher: field(pushData, 'pusher') })
  return event === undefined ? { events: [], ignored: ignoring(refusalOf(tag)) } : { events: [event], ignored: [] }
}
