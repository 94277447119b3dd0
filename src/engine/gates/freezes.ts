import { randomUUID } from 'node:crypto'
import { matchesAnyGlob } from '../../auth/scope.js'
import type { Freeze, FreezeStore } from '../../store/freeze-store.js'
import { timerAt } from './timer-at.js'

export type FreezeEvent = 'frozen' | 'unfrozen'

export interface FreezeBoardOptions {
  store: FreezeStore
  /** a freeze began, or ended (its `until` passed, or it was deleted): notified */
  onEvent?: (event: FreezeEvent, freeze: Freeze) => void
}

/**
 * The freezes in force (DESIGN §8, POST /freezes): kept in memory for the gates, which ask on every
 * update, and in the store (durable across a restart). A freeze ends by itself at `until`; when
 * one ends, whatever it held is looked at again (`onLifted`).
 */
export class FreezeBoard {
  readonly #store: FreezeStore
  readonly #onEvent: NonNullable<FreezeBoardOptions['onEvent']>
  readonly #freezes = new Map<string, { freeze: Freeze, cancel: () => void }>()
  #lifted: () => void = () => {}

  constructor (options: FreezeBoardOptions) {
    this.#store = options.store
    this.#onEvent = options.onEvent ?? (() => {})
  }

  /** Called after a freeze ends (held updates are looked at again). */
  onLifted (fn: () => void): void {
    this.#lifted = fn
  }

  /** Loads the stored freezes; one that ended while no updater ran ends now. */
  start (now = Date.now()): void {
    for (const freeze of this.#store.list()) {
      if (Date.parse(freeze.until) <= now) this.#end(freeze.freezeId, freeze)
      else this.#track(freeze)
    }
  }

  create (input: { services: string[], until: string, reason: string, createdBy?: string | undefined }, now = Date.now()): Freeze {
    const freeze: Freeze = {
      freezeId: randomUUID(),
      services: [...input.services],
      until: new Date(Date.parse(input.until)).toISOString(),
      reason: input.reason,
      createdAt: new Date(now).toISOString(),
      ...(input.createdBy !== undefined && { createdBy: input.createdBy })
    }
    this.#store.add(freeze)
    this.#track(freeze)
    this.#onEvent('frozen', freeze)
    return freeze
  }

  list (): Freeze[] {
    return [...this.#freezes.values()].map((f) => f.freeze).sort((a, b) => Date.parse(a.until) - Date.parse(b.until))
  }

  get (freezeId: string): Freeze | undefined {
    return this.#freezes.get(freezeId)?.freeze
  }

  /** Deletes a freeze (it ends now); false when there is none of that id. */
  remove (freezeId: string): boolean {
    const tracked = this.#freezes.get(freezeId)
    if (tracked === undefined) return false
    // Throws when the store cannot delete it (503): the freeze is then still in force.
    this.#store.remove(freezeId)
    this.#end(freezeId, tracked.freeze)
    return true
  }

  /** The freeze in force on `service` at `now` that ends last (a held update waits for all of them). */
  active (service: string, now = Date.now()): Freeze | undefined {
    let found: Freeze | undefined
    for (const { freeze } of this.#freezes.values()) {
      if (Date.parse(freeze.until) <= now || !matchesAnyGlob(freeze.services, service)) continue
      if (found === undefined || Date.parse(freeze.until) > Date.parse(found.until)) found = freeze
    }
    return found
  }

  close (): void {
    for (const { cancel } of this.#freezes.values()) cancel()
    this.#freezes.clear()
  }

  #track (freeze: Freeze): void {
    const cancel = timerAt(Date.parse(freeze.until), () => this.#end(freeze.freezeId, freeze))
    this.#freezes.set(freeze.freezeId, { freeze, cancel })
  }

  #end (freezeId: string, freeze: Freeze): void {
    this.#freezes.get(freezeId)?.cancel()
    this.#freezes.delete(freezeId)
    // An ended freeze left in a store that failed is ended again at the next start.
    try { this.#store.remove(freezeId) } catch {}
    this.#onEvent('unfrozen', freeze)
    this.#lifted()
  }
}
