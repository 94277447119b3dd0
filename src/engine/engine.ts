import { candidateServiceNames } from '../docker/names.js'
import { normalizeImageTarget } from '../docker/image-ref.js'
import type { ServiceState, Swarm } from '../docker/swarm.js'
import type { StoredBatch } from '../store/records.js'
import { NoPreviousSpec } from '../errors.js'
import { byRequiredLabel, submitBatch, type BatchRequest } from './batch.js'
import { planUpdates, type PlanEntry } from './plan.js'
import { servicesOfStack, servicesRunning } from './find-services.js'
import type { UpdateRequest } from './types.js'
import type { ServiceUpdater } from './updater.js'

export type Target = { image: string } | { stack: string }

/**
 * What the routes may ask of the engine, and all they reach it through: resolving a service,
 * updating one or many, and the dry run's plan. Docker is behind it (the Swarm, the registry
 * lookup of the plan), never called from a route.
 */
export class UpdateEngine {
  readonly #updater: ServiceUpdater
  readonly #swarm: Swarm

  constructor (updater: ServiceUpdater, swarm: Swarm) {
    this.#updater = updater
    this.#swarm = swarm
  }

  /**
   * The service `appName` means. `authorize` is called with every name the request could resolve
   * to before any Docker call (a scoped token cannot probe which services exist), then with the
   * resolved one; it throws to refuse.
   */
  async resolve (appName: string, authorize: (names: readonly string[]) => void): Promise<ServiceState> {
    const names = candidateServiceNames(appName)
    authorize(names)
    const service = await this.#updater.resolveService(appName, names)
    authorize([appName, service.name])
    return service
  }

  /** Every service of an image (as Docker normalises it) or of a stack. */
  async find (target: Target): Promise<ServiceState[]> {
    return 'image' in target ? servicesRunning(this.#swarm, target.image) : servicesOfStack(this.#swarm, target.stack)
  }

  /** The tag a target implies for its services (an image's own), if any. */
  tagOf (target: Target): string | undefined {
    return 'image' in target ? normalizeImageTarget(target.image).tag : undefined
  }

  /** Splits services into those that may be updated and those skipped for lack of the opt-in label. */
  eligible (services: readonly ServiceState[]): ReturnType<typeof byRequiredLabel> {
    return byRequiredLabel(this.#updater, services)
  }

  /** Refuses what may not be updated at all (for a dry run: nothing is queued). */
  check (service: ServiceState, request: UpdateRequest): void {
    this.#updater.check(service, request)
  }

  update (service: ServiceState, request: UpdateRequest, arrivedAt: number): ReturnType<ServiceUpdater['submit']> {
    return this.#updater.submit(service, request, arrivedAt)
  }

  /**
   * `docker service rollback` through the service's lane (rollback.ts): refused 409
   * CU_NO_PREVIOUS_SPEC, with nothing queued, when Swarm keeps no previous spec for it.
   */
  rollback (service: ServiceState, request: Omit<UpdateRequest, 'tag' | 'action'>, arrivedAt: number): ReturnType<ServiceUpdater['submit']> {
    this.#updater.check(service, request)
    if (service.previousImage === undefined) throw new NoPreviousSpec(service.name)
    return this.#updater.submit(service, { ...request, action: 'rollback' }, arrivedAt)
  }

  updateMany (services: readonly ServiceState[], request: BatchRequest): { batch: StoredBatch, jobs: Array<ReturnType<ServiceUpdater['submit']>> } {
    return submitBatch(this.#updater, services, request)
  }

  async plan (services: readonly ServiceState[], tag: string | undefined): Promise<PlanEntry[]> {
    return planUpdates(services, tag)
  }

  /** Is this the updater's own service? (Waiting for it is impossible.) */
  isSelf (service: ServiceState): boolean {
    return this.#updater.isSelf(service)
  }
}
