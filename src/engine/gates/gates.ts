import type { ServiceState } from '../../docker/swarm.js'
import { Frozen, InvalidWindow, OutsideWindow, withExtras } from '../../errors.js'
import type { Freeze } from '../../store/freeze-store.js'
import type { Trigger } from '../../store/records.js'
import { windowDecision } from './window-gate.js'

/** The label that makes every automatic update of a service wait for an admin's approval (DESIGN §8). */
export const APPROVE_LABEL = 'container-updater.approve'

/** What may happen to an update now: start, wait (held until `until`), or wait for an approval. */
export type GateDecision =
  | { kind: 'go' }
  | { kind: 'hold', until: number, message: string }
  | { kind: 'approve' }

export interface GateRequest {
  trigger?: Trigger | undefined
  /** an admin's `"force": true` (the route checked the access level) */
  force?: boolean | undefined
}

/**
 * The one rule for "automatic vs explicit" (gates, the watcher's notice, superseding what waits):
 * registry hooks and the watcher are automatic (nobody is waiting to be told no, so they wait
 * instead); every other request (api, ui, or none named) is explicit, an operator's decision.
 */
export const isAutomatic = (trigger: Trigger | undefined): boolean => trigger === 'hook' || trigger === 'watch'

export interface GatesOptions {
  /** UPDATE_WINDOWS; undefined: always open */
  updateWindows?: string | undefined
  /** the freeze in force on this service at `now` that ends last, if any */
  activeFreeze?: (service: string, now: number) => Freeze | undefined
}

/**
 * The gates every update passes before it is queued (DESIGN §8), for every trigger: freezes,
 * update windows, approvals. An explicit request (api, ui) is refused (423 with the reason) unless
 * forced; an automatic one (hook, watch) is held until the gate opens, or waits for an approval.
 */
export class Gates {
  readonly #options: GatesOptions

  constructor (options: GatesOptions) {
    this.#options = options
  }

  /**
   * The decision for `service` at `now`. Throws the refusal of an explicit request (CU_FROZEN,
   * CU_OUTSIDE_WINDOW), and CU_INVALID_WINDOW (409) for a label no window can be read from.
   * `approved`: an admin approved this update already (held records are never asked again).
   */
  decide (service: ServiceState, request: GateRequest, now: number, approved = false): GateDecision {
    if (!isAutomatic(request.trigger)) {
      if (request.force !== true) this.#refuse(service, now)
      return { kind: 'go' }
    }
    if (!approved && service.labels[APPROVE_LABEL] === 'true') return { kind: 'approve' }
    const freeze = this.#options.activeFreeze?.(service.name, now)
    if (freeze !== undefined) {
      return { kind: 'hold', until: Date.parse(freeze.until), message: `held by freeze ${freeze.freezeId} until ${freeze.until}: ${freeze.reason}` }
    }
    const window = windowDecision(service.labels, this.#options.updateWindows, now)
    if (window.open) return { kind: 'go' }
    if ('invalid' in window) throw new InvalidWindow(service.name, window.invalid)
    const opensAt = new Date(window.opensAt).toISOString()
    return { kind: 'hold', until: window.opensAt, message: `held until its update window opens at ${opensAt} (${window.source}: ${window.windows})` }
  }

  #refuse (service: ServiceState, now: number): void {
    const freeze = this.#options.activeFreeze?.(service.name, now)
    if (freeze !== undefined) {
      throw withExtras(new Frozen(service.name, freeze.freezeId, freeze.until, freeze.reason), {
        details: { service: service.name, freezeId: freeze.freezeId, reason: freeze.reason, until: freeze.until },
        headers: { 'retry-after': retryAfter(Date.parse(freeze.until), now) }
      })
    }
    const window = windowDecision(service.labels, this.#options.updateWindows, now)
    if (window.open) return
    if ('invalid' in window) throw new InvalidWindow(service.name, window.invalid)
    const opensAt = new Date(window.opensAt).toISOString()
    throw withExtras(new OutsideWindow(service.name, window.windows, opensAt), {
      details: { service: service.name, window: window.windows, opensAt },
      headers: { 'retry-after': retryAfter(window.opensAt, now) }
    })
  }
}

const retryAfter = (at: number, now: number): string => String(Math.max(1, Math.ceil((at - now) / 1000)))
