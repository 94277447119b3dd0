import { normalizeImageTarget, normalizeRepository, parseImageRef } from '../docker/image-ref.js'
import type { ServiceState, Swarm } from '../docker/swarm.js'
import type { UpdateRecord, UpdateState } from '../store/records.js'

/** The label `docker stack deploy` puts on every service of a stack. */
export const STACK_LABEL = 'com.docker.stack.namespace'

/**
 * Every service whose spec image has this repository and tag, compared as Docker normalises them
 * (`nginx` = `docker.io/library/nginx`, no tag = `latest`). Two Docker calls, whatever the number
 * of services (`service ls` + one `inspect`).
 */
export async function servicesRunning (swarm: Swarm, image: string): Promise<ServiceState[]> {
  const wanted = normalizeImageTarget(image)
  return (await swarm.listServices()).filter((service) => runsImage(service.image, wanted.full))
}

/** Does a spec image (`repo[:tag][@digest]`) name this normalised `registry/path:tag`? */
export function runsImage (specImage: string, normalisedTarget: string): boolean {
  let ref
  try {
    ref = parseImageRef(specImage)
  } catch {
    return false
  }
  // A service pinned by digest alone names no tag: no push of a tag concerns it.
  if (ref.tag === undefined && ref.digest !== undefined) return false
  return `${normalizeRepository(ref.repository).full}:${ref.tag ?? 'latest'}` === normalisedTarget
}

export async function servicesOfStack (swarm: Swarm, stack: string): Promise<ServiceState[]> {
  // The label filter is exact (unlike `--filter name=`, which matches prefixes).
  return (await swarm.listServices(`${STACK_LABEL}=${stack}`)).filter((service) => service.labels[STACK_LABEL] === stack)
}

const severity: UpdateState[] = ['timeout', 'rolled_back', 'paused', 'failed', 'superseded', 'cancelled']

/** A batch's state: still running, else `completed` when all completed, else its most severe state. */
export function batchStatus (records: readonly UpdateRecord[]): UpdateState {
  if (records.some((r) => r.status === 'updating')) return 'updating'
  if (records.some((r) => r.status === 'queued')) return 'queued'
  return severity.find((state) => records.some((r) => r.status === state)) ?? 'completed'
}

/** HTTP status of a waited answer, single update or batch (docs/API.md, first rule that applies). */
export const httpStatusFor: { [state in UpdateState]: number } = {
  queued: 202,
  updating: 202,
  completed: 200,
  timeout: 504,
  rolled_back: 409,
  paused: 409,
  superseded: 409,
  failed: 502,
  cancelled: 503
}
