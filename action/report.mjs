// What the step tells the job: workflow commands, step outputs, the job summary, and which states
// end the wait. Plain Node, no dependencies.
import { appendFileSync } from 'node:fs'
import { randomUUID } from 'node:crypto'

/**
 * States after which the step stops polling. `timeout` is not final for the updater (the update
 * goes on in Swarm), but it means the updater's own UPDATE_TIMEOUT passed: the step reports it.
 */
export const FINAL = new Set(['completed', 'rolled_back', 'paused', 'failed', 'timeout', 'superseded', 'cancelled'])

export class StepFailure extends Error {}

/** Ends the step with an error annotation. */
export function fail (message) {
  throw new StepFailure(message)
}

export function output (name, value) {
  const file = process.env.GITHUB_OUTPUT
  if (!file || value === undefined || value === null) return
  const text = String(value)
  // A value with a newline needs GitHub's heredoc form, with a delimiter the value cannot contain.
  if (!text.includes('\n')) return appendFileSync(file, `${name}=${text}\n`)
  const delimiter = `EOF_${randomUUID()}`
  appendFileSync(file, `${name}<<${delimiter}\n${text}\n${delimiter}\n`)
}

function summary (markdown) {
  if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, `${markdown}\n`)
}

const cell = (value) => String(value ?? '').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')

/** The job summary's table of updates (one row per service). */
export function summarise (title, records, skipped = []) {
  const rows = records.map((r) => `| ${cell(r.service)} | ${cell(r.status)} | ${cell(r.image ?? r.targetImage)} | ${cell(r.message ?? r.warning)} |`)
  const skippedRows = skipped.map((s) => `| ${cell(s.service)} | skipped | | ${cell(s.reason)} |`)
  summary([`### ${title}`, '', '| service | status | image | message |', '|---|---|---|---|', ...rows, ...skippedRows, ''].join('\n'))
}

/** Why a record did not complete, in one line, with Docker's own message. */
export function reasonOf (record, base) {
  const message = record.message ?? 'no reason given'
  switch (record.status) {
    case 'rolled_back':
    case 'paused':
      return `${record.service}: ${record.status} by Swarm: ${message}`
    case 'timeout':
      return `${record.service}: not converged within the updater's UPDATE_TIMEOUT; the update goes on in Swarm, see ${base}${record.statusUrl}`
    case 'superseded':
      return `${record.service}: superseded by update ${record.supersededBy ?? '(unknown)'} before Swarm finished it`
    case 'cancelled':
      return `${record.service}: cancelled before it started: ${message}`
    default:
      return `${record.service}: ${record.status}: ${message}`
  }
}

/** Prints a record's warning (e.g. the image could not be pinned to a digest) as an annotation. */
export function warnAbout (record) {
  if (record.warning) console.log(`::warning::${record.service}: ${record.warning}`)
}

/** A batch's overall status, by the same precedence as the updater's HTTP status for batches. */
export function batchStatus (updates) {
  const states = new Set(updates.map((u) => u.status))
  for (const state of ['timeout', 'rolled_back', 'paused', 'failed', 'superseded', 'cancelled', 'updating', 'queued']) {
    if (states.has(state)) return state
  }
  return 'completed'
}
