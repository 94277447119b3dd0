import type { UpdateRecord, UpdateState } from '../store/records.js'

/**
 * What each update state means to a caller, in one table (docs/API.md, "States and answers"): the
 * HTTP status of a waited answer (one update, or a batch in that state), and the batch's precedence
 * (its rows are in that order: a batch is in the first state any of its updates is in).
 */
const table: ReadonlyArray<readonly [UpdateState, number]> = [
  ['updating', 202],
  ['verifying', 202],
  ['queued', 202],
  ['held', 202],
  ['pending_approval', 202],
  ['timeout', 504],
  ['rolled_back', 409],
  ['paused', 409],
  ['failed', 502],
  ['superseded', 409],
  ['rejected', 409],
  ['expired', 409],
  ['cancelled', 503],
  ['completed', 200]
]

const httpStatusOf = new Map(table)

/** The HTTP status of a waited answer in this state (one update's, or a batch's). */
export function httpStatusFor (state: UpdateState): number {
  return httpStatusOf.get(state)!
}

/** A batch's state: the first state of the table that any of its updates is in (`completed` when empty). */
export function batchStatus (records: readonly Pick<UpdateRecord, 'status'>[]): UpdateState {
  return table.find(([state]) => records.some((r) => r.status === state))?.[0] ?? 'completed'
}

/** The HTTP status of a waited batch: its state's. */
export function batchHttpStatus (records: readonly Pick<UpdateRecord, 'status'>[]): number {
  return httpStatusFor(batchStatus(records))
}

/** The table's rows, in precedence order (tests and docs check them). */
export const stateAnswers = table
