import { Gates } from './gates/gates.js'
import { HeldUpdates } from './held.js'
import type { Job } from './job.js'
import type { JobLedger } from './ledger.js'
import type { UpdaterOptions } from './types.js'
import { publicRecord } from '../store/records.js'

/**
 * The updater's held updates and their gates, wired to its options: freezes and windows from the
 * configuration; a freeze that ends, or an event of a service (its labels changed), looks at the
 * held updates again.
 */
export function heldUpdates (options: UpdaterOptions, ledger: JobLedger, enqueue: (job: Job) => void): HeldUpdates {
  const gates = new Gates({ updateWindows: options.updateWindows, activeFreeze: (name, now) => options.freezes?.active(name, now) })
  const held = new HeldUpdates({
    ledger,
    gates,
    readService: async (id) => options.swarm.inspectService(id),
    enqueue,
    approvalTtlMs: options.approvalTtlMs ?? 24 * 3600_000,
    approveUrl: (id) => `${options.publicUrl ?? ''}/updates/${id}/approve`,
    onParked: (job) => options.onRecord?.(publicRecord(job.record), 'parked')
  })
  options.freezes?.onLifted(() => held.recheck())
  options.events?.on('event', (event) => held.recheck(event.serviceId))
  return held
}
