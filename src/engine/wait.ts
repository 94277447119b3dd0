import { publicRecord } from '../store/records.js'
import type { Job } from './job.js'
import type { JobLedger } from './ledger.js'
import type { Answer } from './types.js'

export interface WaitOptions {
  job: Job
  /** epoch ms; a held update's caller waits first for it to be queued (held.released), then from there */
  deadline: number
  /** resolves at the shutdown deadline */
  closing: Promise<'closing'>
  ledger: JobLedger
  timeoutMs: number
  selfServiceId: string | undefined
}

/**
 * Waits for the job's final state, the caller's deadline, or shutdown, whichever comes first: a
 * caller left at its deadline or at shutdown gets `timeout` (the record goes on). A held or
 * pending update is answered as it stands at shutdown (it stays held for the next instance).
 */
export async function waitForAnswer ({ job, deadline, closing, ledger, timeoutMs, selfServiceId }: WaitOptions): Promise<Answer> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'late'>((resolve) => {
    if (Number.isFinite(deadline)) timer = setTimeout(() => resolve('late'), Math.max(0, deadline - Date.now()))
  })
  const first = await Promise.race([job.done.then(() => 'done' as const), late, closing])
  clearTimeout(timer)
  const parked = job.record.status === 'held' || job.record.status === 'pending_approval'
  if (first === 'late' && !parked) ledger.timeOut(job, `not converged after ${Math.round(timeoutMs / 1000)} s; the update goes on in Swarm, poll statusUrl for its end`)
  if (first === 'closing' && !job.final && !parked && job.record.serviceId !== selfServiceId) {
    ledger.timeOut(job, 'the updater is shutting down; the update goes on in Swarm and the next instance settles this record at statusUrl')
  }
  return { record: publicRecord(job.record), ...(job.error !== undefined && { error: job.error }) }
}
