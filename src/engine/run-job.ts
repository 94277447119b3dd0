import type { ServiceState } from '../docker/swarm.js'
import type { Job } from './job.js'
import type { JobLedger } from './ledger.js'
import type { UpdateWatcher } from './follow-update.js'
import type { Semaphore } from './semaphore.js'
import { startDockerUpdate, type WriteOptions } from './start-update.js'
import { moveTo } from './transitions.js'

/** What running one job needs of the updater. */
export interface RunContext {
  slots: Semaphore
  write: WriteOptions
  ledger: JobLedger
  watcher: UpdateWatcher
}

/**
 * One job's turn in its lane (updater.ts): a slot among MAX_CONCURRENT_UPDATES, the Docker update,
 * the supersession of the previous (timed-out) update once Swarm accepted this one, then the watch
 * of this one to its end.
 */
export async function runJob (context: RunContext, job: Job, previous: Job | undefined): Promise<void> {
  const { slots, ledger, watcher } = context
  job.blocking = true
  // The request's own read of the service is fresh only if nothing made the job wait.
  let release = slots.tryAcquire()
  const snapshot = release !== undefined && previous === undefined ? job.snapshot : undefined
  job.snapshot = undefined
  release ??= await slots.acquire()
  if (job.final) return release() // cancelled by shutdown while it waited for a slot
  job.releaseSlot = release
  job.started = true
  // Written with the base version, just before the Docker call (start-update.ts): until then a restart
  // cancels it, whether the store says queued or updating.
  moveTo(job.record, 'updating')
  // Stop crediting the previous (timed-out) update with anything from now on.
  previous?.watch.abort()
  let base: ServiceState
  job.writing = true
  try {
    const started = await startDockerUpdate(context.write, job, snapshot)
    base = started.before
    if (started.warning !== undefined) {
      job.record.warning = started.warning
      job.record.message = `Docker could not pin the image to a digest: ${started.warning}`
      ledger.save(job)
    }
  } catch (error) {
    job.writing = false
    if (previous !== undefined && !previous.final) watcher.restart(previous)
    job.error = error as Error
    ledger.finish(job, 'failed', null, (error as Error).message)
    return
  }
  job.writing = false
  if (previous !== undefined && !previous.final) {
    previous.record.supersededBy = job.record.updateId
    ledger.finish(previous, 'superseded', null, `replaced by update ${job.record.updateId} before Swarm finished it`)
  }
  // Timed out while its write was in flight: only now may the next update start.
  ledger.unblock(job)
  await watcher.watch(job, base.version, base.updateStatus?.startedAt)
}
