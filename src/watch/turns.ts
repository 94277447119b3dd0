import { setImmediate as nextTurn } from 'node:timers/promises'

/**
 * How many services the watcher handles in one turn of the event loop before it lets requests in:
 * each costs some microseconds (labels parsed, a view built, an entry compared), and 500 of them
 * in one turn held /healthz for milliseconds (issue #19, bench/figures/watch.ts).
 */
export const PER_TURN = 50

/** Calls `fn` on each item, `perTurn` items per turn of the event loop. */
export async function forEachInTurns<T> (items: Iterable<T>, fn: (item: T) => void, perTurn = PER_TURN): Promise<void> {
  let n = 0
  for (const item of items) {
    if (n > 0 && n % perTurn === 0) await nextTurn()
    fn(item)
    n++
  }
}
