import type { RecordEvent } from '../engine/types.js'
import type { UpdateRecord } from '../store/records.js'
import type { Quarantine, WatchStore } from './watch-store.js'

/**
 * Quarantine (DESIGN §7): an update that ends `rolled_back` or `paused`, whoever asked for it (the
 * watcher, a push hook, POST /update), or a pending approval an admin rejected, quarantines the digest it tried to roll out for that
 * service, durably: the watcher and push hooks never roll that service onto that digest again,
 * or every cycle would re-deploy a crashing image. A `POST /rollback` record is not an update onto
 * anything and quarantines nothing.
 */
export interface QuarantineOptions {
  store: Pick<WatchStore, 'quarantine'>
  /** the service and the digest the update tried (Docker's answer), or undefined when nobody can tell */
  failedDigest: (record: UpdateRecord) => Promise<{ serviceId: string, digest: string } | undefined>
  /** the record is final and its quarantine (if any) recorded: anything kept about it can go, its service be looked at again */
  settled?: (record: UpdateRecord) => void
  onQuarantine?: (quarantine: Quarantine, record: UpdateRecord) => void
  onError?: (error: unknown) => void
  now?: () => number
}

/**
 * A listener for the engine's onRecord, and `settling`: the services whose failed update is still
 * being looked at (its digest asked of Docker), which the watcher must not decide about meanwhile.
 */
/**
 * The ends that quarantine the digest: Swarm's rollback or pause (a crashing image), and an
 * operator's reject of a pending approval (a decision about that digest: asked again, it would be
 * asked again every cycle). `failed`, `expired`, `superseded` and `cancelled` quarantine nothing.
 */
const QUARANTINING: ReadonlySet<string> = new Set(['rolled_back', 'paused', 'rejected'])

/**
 * The ends after which the watcher looks at the service again at once (GET /watch tells the outcome
 * now). Not after `failed` or `expired`: a retry waits for the service's next scheduled check, or a
 * refusal (a pre-flight's 409, a Docker error) would be submitted again in a loop.
 */
export const RECHECK_AFTER: ReadonlySet<string> = new Set(['completed', 'rolled_back', 'paused', 'rejected'])

export function quarantineOnFailure (options: QuarantineOptions): { listener: (record: UpdateRecord, event: RecordEvent) => void, settling: (service: string) => boolean } {
  const now = options.now ?? Date.now
  const pending = new Map<string, number>()
  const settle = async (record: UpdateRecord): Promise<void> => {
    const failed = await options.failedDigest(record)
    if (failed === undefined) return
    const quarantine: Quarantine = { serviceId: failed.serviceId, service: record.service, digest: failed.digest, updateId: record.updateId, sinceMs: now() }
    options.store.quarantine(quarantine)
    options.onQuarantine?.(quarantine, record)
  }
  const listener = (record: UpdateRecord, event: RecordEvent): void => {
    if (event !== 'final') return
    const failed = QUARANTINING.has(record.status) && record.action !== 'rollback'
    if (failed) pending.set(record.service, (pending.get(record.service) ?? 0) + 1)
    const done = failed ? settle(record) : Promise.resolve()
    done.catch((error: unknown) => options.onError?.(error)).finally(() => {
      if (failed) {
        const left = pending.get(record.service)! - 1
        if (left === 0) pending.delete(record.service)
        else pending.set(record.service, left)
      }
      options.settled?.(record)
    })
  }
  return { listener, settling: (service) => pending.has(service) }
}
