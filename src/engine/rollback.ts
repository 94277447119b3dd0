import { setTimeout as sleep } from 'node:timers/promises'
import type { ServiceState, Swarm } from '../docker/swarm.js'
import { DockerTimeout, NoPreviousSpec, OutOfSequence } from '../errors.js'
import type { Job } from './job.js'
import type { WriteOptions } from './start-update.js'

/**
 * POST /rollback's Docker call (DESIGN §8, "Rollback on demand"): `docker service rollback` of a
 * service, run as a job of its lane like an update (lanes.ts), so it never races one. Swarm puts its
 * PreviousSpec back; the watch reads the outcome from UpdateStatus (`rollback_completed` is this
 * job's success, convergence.ts). A service without a PreviousSpec is refused 409
 * CU_NO_PREVIOUS_SPEC: before anything is queued (engine.ts) and again when its turn comes.
 */
export async function startRollback (options: WriteOptions, job: Job, snapshot: ServiceState | undefined): Promise<{ before: ServiceState }> {
  const { swarm, retries, save } = options
  for (let attempt = 0; ; attempt++) {
    const before = attempt === 0 && snapshot !== undefined ? snapshot : await swarm.getService(job.record.serviceId)
    if (before.previousImage === undefined) throw new NoPreviousSpec(before.name)
    job.record.previousImage = before.image
    job.record.baseVersion = before.version
    if (before.updateStatus?.startedAt !== undefined) job.record.baseStatusStartedAt = before.updateStatus.startedAt
    save(job)
    try {
      await swarm.rollback(before.id, before.name)
      return { before }
    } catch (error) {
      if (error instanceof DockerTimeout && await rollbackReachedSwarm(swarm, before)) return { before }
      if (!(error instanceof OutOfSequence) || attempt >= retries) throw error
      await sleep(50 * 2 ** attempt)
    }
  }
}

/** Did our rollback land although the CLI was killed? The version moved and a new rollback started. */
async function rollbackReachedSwarm (swarm: Swarm, before: ServiceState): Promise<boolean> {
  const now = await swarm.getService(before.id).catch(() => undefined)
  return now !== undefined && now.version > before.version && (now.updateStatus?.state ?? '').startsWith('rollback') &&
    now.updateStatus?.startedAt !== before.updateStatus?.startedAt
}
