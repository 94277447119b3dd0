import { IllegalTransition } from '../errors.js'
import type { StoredUpdate, UpdateState } from '../store/records.js'

/**
 * Every state an update may move to from each state: the one place that says how a job's record
 * changes state (the ledger, the lanes and recovery all go through `moveTo`). New states (held,
 * pending approval, verifying …) are new rows here first.
 *
 * - `queued` → `updating` when its lane and a slot let it start; `timeout` when its caller stopped
 *   waiting first; `cancelled` at shutdown (or at a restart); `failed` when recovery finds it
 *   never reached Swarm.
 * - `updating` → any end Swarm reports, `failed`, `superseded` by a later update once its caller
 *   timed out, `timeout`, or `cancelled` at a restart that finds no base version.
 * - `timeout` → `updating` (a queued job whose caller left starts later), `verifying`, and every
 *   end: the update is still watched and reaches its real end.
 * - `held` (an automatic update outside its window or under a freeze, DESIGN §8; born so, or an
 *   approved `pending_approval`) → `queued` when the gate opens; `superseded` by a newer update of
 *   the service; `cancelled`, `failed`. Never back to `pending_approval`: a held record was decided
 *   (the label asked no approval when it was parked, or an admin approved it; the store keeps no
 *   mark of which), so an approve label added meanwhile applies to the next automatic update.
 * - `pending_approval` → `queued` (approved), `held` (approved while a gate is closed), `rejected`,
 *   `expired` (APPROVAL_TTL), `superseded`, `cancelled`, `failed`.
 * - `verifying` (Swarm completed; the post-rollout check runs) → `completed`, `rolled_back` (the
 *   check failed and the updater rolled back), `paused` (Swarm paused that rollback), `failed`,
 *   `timeout`, `superseded`, `cancelled`.
 * - The final states go nowhere.
 */
const allowed: { readonly [from in UpdateState]: readonly UpdateState[] } = {
  queued: ['updating', 'timeout', 'cancelled', 'failed', 'superseded'],
  held: ['queued', 'superseded', 'cancelled', 'failed'],
  pending_approval: ['queued', 'held', 'rejected', 'expired', 'superseded', 'cancelled', 'failed'],
  updating: ['verifying', 'completed', 'rolled_back', 'paused', 'failed', 'superseded', 'timeout', 'cancelled'],
  verifying: ['completed', 'rolled_back', 'paused', 'failed', 'superseded', 'timeout', 'cancelled'],
  timeout: ['updating', 'verifying', 'completed', 'rolled_back', 'paused', 'failed', 'superseded', 'cancelled'],
  completed: [],
  rolled_back: [],
  paused: [],
  failed: [],
  superseded: [],
  rejected: [],
  expired: [],
  cancelled: []
}

export const mayMove = (from: UpdateState, to: UpdateState): boolean => allowed[from].includes(to)

/** Moves a record to `to`, or throws CU_ILLEGAL_TRANSITION (a bug: nothing is changed). */
export function moveTo (record: StoredUpdate, to: UpdateState): void {
  if (!mayMove(record.status, to)) throw new IllegalTransition(record.updateId, record.status, to)
  record.status = to
}

/** The table, for tests and docs. */
export const transitions = allowed
