import { normalizeImageTarget, normalizeRepository, parseImageRef } from '../docker/image-ref.js'
import type { ServiceState, Swarm } from '../docker/swarm.js'

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
