import { jobFrom, type Job } from './job.js'
import type { JobLedger } from './ledger.js'
import type { Lanes } from './lanes.js'
import type { UpdateStore } from '../store/records.js'
import type { UpdateWatcher } from './follow-update.js'
import type { HeldUpdates } from './held.js'

export interface Recovery {
  store: UpdateStore
  ledger: JobLedger
  lanes: Lanes<Job>
  watcher: UpdateWatcher
  held: HeldUpdates
}

/**
 * Picks up what an earlier process left unfinished (DESIGN §6): updates Swarm may still be running
 * are watched again to their real end; queued ones that never started are `cancelled`; held and
 * pending-approval ones wait again (held.ts). Returns how many are watched again.
 */
export function resumeUnfinished ({ store, ledger, lanes, watcher, held }: Recovery): number {
  let resumed = 0
  for (const stored of store.unfinished()) {
    if (ledger.get(stored.updateId) !== undefined) continue
    // Held and pending updates never reached Docker: they wait again, looked at when their time comes.
    if (stored.status === 'held' || stored.status === 'pending_approval') {
      held.resume(stored)
      continue
    }
    const job = jobFrom(stored)
    if (stored.status === 'queued' || stored.baseVersion === undefined) {
      ledger.finish(job, 'cancelled', null, 'the updater stopped before this update started')
      continue
    }
    ledger.adopt(job)
    job.started = true
    // Nobody waits for it any more, so a next request may replace it; but a post-rollout check holds its lane (verify.ts).
    job.blocking = stored.status === 'verifying'
    lanes.adopt(stored.serviceId, job)
    watcher.resume(job).catch(() => {})
    resumed++
  }
  return resumed
}
