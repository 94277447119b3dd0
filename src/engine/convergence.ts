import type { ServiceState, Swarm, UpdateStatus } from '../docker/swarm.js'
import { ServiceNotFound } from '../errors.js'
import type { Action, UpdateState } from '../store/records.js'

/** Swarm's final UpdateStatus states, as the record names them. */
const terminal: Record<string, UpdateState | undefined> = {
  completed: 'completed',
  rollback_completed: 'rolled_back',
  paused: 'paused',
  rollback_paused: 'paused'
}

/** The same for a rollback we asked for (POST /rollback): its rollback completing is its success. */
const rollbackTerminal: Record<string, UpdateState | undefined> = {
  completed: 'completed',
  rollback_completed: 'completed',
  paused: 'paused',
  rollback_paused: 'paused'
}
const terminalOf = (action: Action | undefined): Record<string, UpdateState | undefined> => action === 'rollback' ? rollbackTerminal : terminal

/** What an update is compared against: the service as read just before our `service update`. */
export interface Baseline {
  version: number
  statusStartedAt?: string | undefined
  /** what we asked Swarm for: an update (default) or a rollback */
  action?: Action | undefined
}

export interface Outcome {
  state: UpdateState
  service: ServiceState
  message: string
}

/** `poll`: the caller waits for something no service event announces (tasks converging). */
export interface ReadHint {
  poll?: boolean
}

/** Something that hands out a fresh read of a service when it may have changed. */
export interface ServiceSource {
  next: (id: string, signal: AbortSignal, hint?: ReadHint) => Promise<ServiceState>
  /** the watch of this service by the waiter of `signal` ended (another waiter's goes on) */
  release?: (id: string, signal: AbortSignal) => void
}

/**
 * Waits until the update we started reaches a final UpdateStatus (the CLI's exit code says
 * nothing: a rolled-back update exits 0) and returns the outcome with Docker's reason. Passing
 * Docker failures are retried (the caller's own deadline bounds the wait); a removed service is
 * final. Rejects only when `signal` aborts (superseded, shutdown) or the service is gone.
 */
export async function waitForConvergence (swarm: Swarm, source: ServiceSource, id: string, base: Baseline, signal: AbortSignal): Promise<Outcome> {
  let hint: ReadHint = {}
  try {
    for (;;) {
      let now: ServiceState
      try {
        now = await source.next(id, signal, hint)
      } catch (error) {
        signal.throwIfAborted()
        if (error instanceof ServiceNotFound) throw error
        // A passing Docker failure: read again (at the poll interval) until the caller gives up.
        hint = { poll: true }
        continue
      }
      hint = {}
      if (isOurs(base, now.updateStatus) && terminalOf(base.action)[now.updateStatus?.state ?? ''] !== undefined) return await describe(swarm, now, base.action)
      // Any later spec change (another client adding a label, say) resets UpdateStatus, and one that
      // changes no task never sets it again; a service with no tasks never gets one. Then the
      // tasks themselves tell whether the spec we wrote (or a later one) has been rolled out.
      if (now.updateStatus === undefined && now.version > base.version) {
        const converged = await swarm.tasksConverged(now).catch(() => false)
        if (converged) return await describe(swarm, now, base.action)
        hint = { poll: true }
      }
    }
  } finally {
    source.release?.(id, signal)
  }
}

/** Is `now` the status of an update that started after the baseline was read? */
function isOurs (base: Baseline, now: UpdateStatus | undefined): boolean {
  if (now === undefined) return false
  return base.statusStartedAt === undefined || now.startedAt !== base.statusStartedAt
}

async function describe (swarm: Swarm, service: ServiceState, action: Action | undefined): Promise<Outcome> {
  const state = terminalOf(action)[service.updateStatus?.state ?? ''] ?? 'completed'
  let message = service.updateStatus?.message ??
    'tasks converged; Swarm gave no update status (the service was changed again meanwhile, or has no tasks)'
  if (state !== 'completed') {
    // "rollback completed" says nothing; the failed task's error says why.
    const reason = await swarm.lastTaskError(service.id).catch(() => undefined)
    if (reason !== undefined) message = `${message}: ${reason}`
  }
  return { state, service, message }
}
