import { setTimeout as sleep } from 'node:timers/promises'
import { targetImage } from '../docker/image-ref.js'
import type { RegistryAuthCheck } from '../docker/registry-auth.js'
import type { ServiceState, Swarm } from '../docker/swarm.js'
import { DockerTimeout, ImagePinnedByDigest, OutOfSequence } from '../errors.js'
import type { Job } from './job.js'
import { startRollback } from './rollback.js'
import type { Preflight } from './gates/preflight.js'

export interface WriteOptions {
  swarm: Swarm
  registryAuth: RegistryAuthCheck
  /** retries of Docker's "update out of sequence" after re-reading the service */
  retries: number
  /** writes the record (its base version is known before the Docker call: resume needs it) */
  save: (job: Job) => void
  /** the image's platforms against the nodes, before anything changes (gates/preflight.ts) */
  preflight?: Preflight | undefined
}

/**
 * Reads the service (unless the request's fresh read is given) and starts the Docker update,
 * retrying "update out of sequence" after reading it again. A call killed at its timeout may
 * still have reached Swarm: the service is read again before deciding.
 */
export async function startDockerUpdate (options: WriteOptions, job: Job, snapshot: ServiceState | undefined): Promise<{ before: ServiceState, warning?: string }> {
  if (job.record.action === 'rollback') return startRollback(options, job, snapshot)
  const { swarm, registryAuth, retries, save } = options
  for (let attempt = 0; ; attempt++) {
    const before = attempt === 0 && snapshot !== undefined ? snapshot : await swarm.getService(job.record.serviceId)
    const image = targetImage(before.image, job.tag)
    if (image === undefined) throw new ImagePinnedByDigest(before.name)
    // Refuses (409 CU_NO_SUITABLE_NODE) before anything changes; what it cannot ask becomes a warning.
    if (attempt === 0 && options.preflight !== undefined) {
      const { warning } = await options.preflight.check(before, image)
      if (warning !== undefined) job.record.warning = warning
    }
    job.record.previousImage = before.image
    job.record.targetImage = image
    job.record.baseVersion = before.version
    if (before.updateStatus?.startedAt !== undefined) job.record.baseStatusStartedAt = before.updateStatus.startedAt
    save(job)
    try {
      const { warning } = await swarm.startUpdate(before.id, image, registryAuth(image))
      return { before, ...(warning !== undefined && { warning }) }
    } catch (error) {
      if (error instanceof DockerTimeout && await reachedSwarm(swarm, before)) return { before }
      if (!(error instanceof OutOfSequence) || attempt >= retries) throw error
      await sleep(50 * 2 ** attempt)
    }
  }
}

/** Did our write land although the CLI was killed? Its version and ForceUpdate counter moved. */
async function reachedSwarm (swarm: Swarm, before: ServiceState): Promise<boolean> {
  const now = await swarm.getService(before.id).catch(() => undefined)
  return now !== undefined && now.version > before.version && now.forceUpdate > before.forceUpdate
}
