import type { UpdateStore } from './records.js'

export interface PruningOptions {
  /** records that finished more than this many days ago are deleted (HISTORY_DAYS) */
  historyDays: number
  /** how often to prune; an hour by default */
  intervalMs?: number
  /** rows deleted per statement: small, so the event loop runs between statements */
  batchSize?: number
  /** told about a failed pass (the next pass tries again) */
  onError?: (error: unknown) => void
  /** told how many rows a pass deleted, when it deleted any */
  onPruned?: (deleted: number) => void
}

const DAY_MS = 24 * 60 * 60 * 1000

/**
 * Prunes at start and then every `intervalMs`, a few hundred rows per step with the event loop
 * free between steps, so requests are not held up by a large deletion. The timer is unref'd: it
 * never keeps the process alive. Returns a function that stops it (call it before closing the store).
 */
export function startPruning (store: UpdateStore, options: PruningOptions): () => void {
  const { historyDays, intervalMs = 60 * 60 * 1000, batchSize = 500, onError, onPruned } = options
  let stopped = false
  let running = false
  let pending: NodeJS.Immediate | undefined

  const pass = (): void => {
    if (running || stopped) return
    running = true
    const before = new Date(Date.now() - historyDays * DAY_MS)
    let total = 0
    const step = (): void => {
      pending = undefined
      if (stopped) return
      let deleted: number
      try {
        deleted = store.prune(before, batchSize)
      } catch (error) {
        running = false
        onError?.(error)
        return
      }
      total += deleted
      if (deleted === batchSize) {
        pending = setImmediate(step)
        return
      }
      running = false
      if (total > 0) onPruned?.(total)
    }
    step()
  }

  pass()
  const timer = setInterval(pass, intervalMs)
  timer.unref()
  return () => {
    stopped = true
    clearInterval(timer)
    if (pending !== undefined) clearImmediate(pending)
  }
}
