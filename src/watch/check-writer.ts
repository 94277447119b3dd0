import { setImmediate as nextTurn } from 'node:timers/promises'
import type { ServiceCheck, WatchStore } from './watch-store.js'

/**
 * Writes a cycle's checks behind it (issue #19): the checks queued during one turn of the event loop
 * are written at the next turn in one transaction, at most `chunk` rows each, with a turn between
 * transactions. A cycle of 500 services was 500 autocommits on the event loop, each a few
 * microseconds of SQLite with the process's requests waiting behind them (bench/figures/watch.ts:
 * /healthz p99 during a cycle); now it is a few transactions of a fraction of a millisecond.
 * `flush()` waits until everything queued is written and throws the first failure, so the cycle
 * still fails when the database does.
 */
export class CheckWriter {
  readonly #store: Pick<WatchStore, 'saveChecks'>
  readonly #chunk: number
  #queue: ServiceCheck[] = []
  #writing: Promise<void> | undefined
  #failure: { error: unknown } | undefined

  constructor (store: Pick<WatchStore, 'saveChecks'>, chunk = 100) {
    this.#store = store
    this.#chunk = chunk
  }

  queue (check: ServiceCheck): void {
    this.#queue.push(check)
    this.#writing ??= this.#write()
  }

  /** Resolves when every queued check is written; rejects with the first write that failed. */
  async flush (): Promise<void> {
    while (this.#writing !== undefined) await this.#writing
    const failure = this.#failure
    this.#failure = undefined
    if (failure !== undefined) throw failure.error
  }

  async #write (): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        await nextTurn()
        const batch = this.#queue.splice(0, this.#chunk)
        try {
          this.#store.saveChecks(batch)
        } catch (error) {
          this.#failure ??= { error }
        }
      }
    } finally {
      // Nothing can be queued between the loop's last test and here: both run in one turn.
      this.#writing = undefined
    }
  }
}
