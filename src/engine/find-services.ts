import { normalizeImageTarget } from '../docker/image-ref.js'
import { runsImage } from '../docker/image-match.js'
import type { ServiceState, Swarm } from '../docker/swarm.js'

/** The label `docker stack deploy` puts on every service of a stack. */
export const STACK_LABEL = 'com.docker.stack.namespace'

/**
 * Every service whose spec image has this repository and tag, compared as Docker normalises them
 * (`nginx` = `docker.io/library/nginx`, no tag = `latest`) and otherwise exactly as typed: no
 * registry aliases, the path in its own case (docs/DESIGN-NOTES.md, "Image matching"). Two Docker
 * calls, whatever the number of services (`service ls` + one `inspect`).
 */
export async function servicesRunning (swarm: Swarm, image: string): Promise<ServiceState[]> {
  const wanted = normalizeImageTarget(image)
  return (await swarm.listServices()).filter((service) => runsImage(service.image, wanted))
}

export async function servicesOfStack (swarm: Swarm, stack: string): Promise<ServiceState[]> {
  // The label filter is exact (unlike `--filter name=`, which matches prefixes).
  return (await swarm.listServices(`${STACK_LABEL}=${stack}`)).filter((service) => service.labels[STACK_LABEL] === stack)
}
