import { candidateServiceNames } from '../docker/names.js'
import { normalizeImageTarget } from '../docker/image-ref.js'
import type { ServiceState, Swarm } from '../docker/swarm.js'
import { publicRecord, type ListQuery, type StoredBatch, type UpdateRecord } from '../store/records.js'
import type { SqliteStore } from '../store/sqlite-store.js'
import { NoPreviousSpec } from '../errors.js'
import { byRequiredLabel, submitBatch, type BatchRequest } from './batch.js'
import { planUpdates, type PlanEntry } from './plan.js'
import { servicesOfStack, servicesRunning } from './find-services.js'
import type { RecordEvent, UpdateRequest } from './types.js'
import type { ServiceUpdater } from './updater.js'
import type { FreezeBoard } from './gates/freezes.js'
import { isAutomatic } from './gates/gates.js'
import type { Freeze } from '../store/freeze-store.js'

export type Target = { image: string } | { stack: string }

/**
 * What the routes may ask of the engine, and all they reach it through: resolving a service,
 * updating one or many, the dry run's plan, the records (one, a page, a batch) and readiness.
 * Docker is behind it (the Swarm, the registry lookup of the plan), never called from a route; so
 * is the store.
 */
export class UpdateEngine {
  readonly #updater: ServiceUpdater
  readonly #swarm: Swarm
  readonly #freezes: FreezeBoard | undefined
  readonly #explicit = new Set<(service: ServiceState) => void>()

  constructor (updater: ServiceUpdater, swarm: Swarm, freezes?: FreezeBoard) {
    this.#updater = updater
    this.#swarm = swarm
    this.#freezes = freezes
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

  /**
   * Every service of the swarm (those carrying `label`, `key` or `key=value`, when given), as
   * `docker service ls` and `inspect` read them: registry pushes match their images.
   */
  async listServices (label?: string): Promise<ServiceState[]> {
    return this.#swarm.listServices(label)
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

  /**
   * Queues an update, through the gates (DESIGN §8: windows, freezes, approvals): an explicit
   * request behind a closed gate is refused (423 CU_OUTSIDE_WINDOW, CU_FROZEN) unless forced; an
   * automatic one is held or waits for approval (the hooks and the watcher reach the same gates
   * in the updater's submit).
   */
  update (service: ServiceState, request: UpdateRequest, arrivedAt = Date.now()): ReturnType<ServiceUpdater['submit']> {
    const job = this.#updater.submit(service, request, arrivedAt)
    if (!isAutomatic(request.trigger)) this.#told(service)
    return job
  }

  /**
   * `docker service rollback` through the service's lane (rollback.ts): refused 409
   * CU_NO_PREVIOUS_SPEC, with nothing queued, when Swarm keeps no previous spec for it and no
   * update of it is running or queued.
   */
  rollback (service: ServiceState, request: Omit<UpdateRequest, 'tag' | 'action'>, arrivedAt: number): ReturnType<ServiceUpdater['submit']> {
    this.#updater.check(service, request)
    // An update running or queued in the lane will leave a previous spec: the rollback waits for
    // it, and Docker's own refusal answers the same 409 if there is still none then.
    if (service.previousImage === undefined && !this.#updater.busy(service.id)) throw new NoPreviousSpec(service.name)
    return this.#updater.submit(service, { ...request, action: 'rollback' }, arrivedAt)
  }

  updateMany (services: readonly ServiceState[], request: BatchRequest): { batch: StoredBatch, jobs: Array<ReturnType<ServiceUpdater['submit']>> } {
    const submitted = submitBatch(this.#updater, services, request)
    if (!isAutomatic(request.trigger)) {
      const queued = new Set(submitted.jobs.map((job) => job.record.service))
      for (const service of services) if (queued.has(service.name)) this.#told(service)
    }
    return submitted
  }

  /** The record database's file (`:memory:` without one): the watcher keeps its tables there. */
  get storeFile (): string {
    return (this.#updater.store as Partial<SqliteStore>).file ?? ':memory:'
  }

  /** Tells `listener` (which must not throw) of every record reaching a final state, and of timeouts. */
  onRecord (listener: (record: UpdateRecord, event: RecordEvent) => void): void {
    this.#updater.recordListeners.add(listener)
  }

  /** Tells `listener` of every service a person or a pipeline asked to update (trigger api or ui), once queued. */
  onExplicitUpdate (listener: (service: ServiceState) => void): void {
    this.#explicit.add(listener)
  }

  /**
   * Tells `listener` when services may have appeared, gone or changed their labels (the `docker
   * events` stream: create, remove, a spec change without a rollout; and the stream coming back,
   * after which anything may have changed). False when there is no stream to follow.
   */
  onServicesChanged (listener: () => void): boolean {
    const events = this.#updater.serviceEvents
    if (events === undefined) return false
    events.on('event', (event) => { if (event.action !== 'update' || event.updateState === undefined) listener() })
    events.on('up', listener)
    return true
  }

  /**
   * The service and digest of an update that ended `rolled_back` or `paused`: a paused update's
   * spec still names the digest (the record's `image`); after a rollback it is the image of the
   * newest task that ran something else than the restored one. Undefined when Docker cannot tell.
   */
  async failedDigest (record: UpdateRecord): Promise<{ serviceId: string, digest: string } | undefined> {
    const serviceId = this.#updater.store.get(record.updateId)?.serviceId
    if (serviceId === undefined || record.image === null) return undefined
    let digest: string | undefined
    if (record.status === 'paused') digest = digestIn(record.image)
    if (record.status === 'rolled_back') digest = digestIn(await this.#swarm.newestOtherTaskImage(serviceId, record.image))
    return digest === undefined ? undefined : { serviceId, digest }
  }

  async plan (services: readonly ServiceState[], tag: string | undefined): Promise<PlanEntry[]> {
    return planUpdates(services, tag)
  }

  /** The record of an update: the live one (fresher), else the store's (also an earlier process's). */
  get (updateId: string): UpdateRecord | undefined {
    return this.#updater.getRecord(updateId)
  }

  /** A page of the history, newest first (the store's order and scope), each record as `get` gives it. */
  list (query: ListQuery): { updates: UpdateRecord[], nextCursor: string | null } {
    const page = this.#updater.store.list(query)
    return { updates: page.updates.map((r) => this.#updater.liveRecord(r.updateId) ?? publicRecord(r)), nextCursor: page.nextCursor }
  }

  /** A multi-service update and the records of its updates (as `get` gives them), if it exists. */
  batch (batchId: string): { batch: StoredBatch, records: UpdateRecord[] } | undefined {
    const batch = this.#updater.store.getBatch(batchId)
    if (batch === undefined) return undefined
    const records = batch.updateIds.map((id) => this.get(id)).filter((r): r is UpdateRecord => r !== undefined)
    return { batch, records }
  }

  /** Resolves when Docker answers and this node is a Swarm manager; throws the reason otherwise. */
  async checkReady (): Promise<void> {
    await this.#updater.checkReady()
  }

  /** An admin approves a pending update (POST /updates/:id/approve): it starts, or is held by a closed gate. */
  async approve (updateId: string, by: string | undefined): Promise<UpdateRecord> {
    return publicRecord((await this.#updater.held.approve(updateId, by)).record)
  }

  /** An admin rejects a pending update: it ends `rejected`. */
  reject (updateId: string, by: string | undefined): UpdateRecord {
    return publicRecord(this.#updater.held.reject(updateId, by).record)
  }

  freezes (): Freeze[] {
    return this.#freezes?.list() ?? []
  }

  freeze (input: Parameters<FreezeBoard['create']>[0]): Freeze {
    if (this.#freezes === undefined) throw new Error('freezes are not available')
    return this.#freezes.create(input)
  }

  getFreeze (freezeId: string): Freeze | undefined {
    return this.#freezes?.get(freezeId)
  }

  /** Ends a freeze now (its held updates are looked at again); false when there is none. */
  unfreeze (freezeId: string): boolean {
    return this.#freezes?.remove(freezeId) ?? false
  }

  /** Is this the updater's own service? (Waiting for it is impossible.) */
  isSelf (service: ServiceState): boolean {
    return this.#updater.isSelf(service)
  }

  #told (service: ServiceState): void {
    for (const listener of this.#explicit) listener(service)
  }
}

const digestIn = (image: string | null | undefined): string | undefined => /@(sha256:[0-9a-f]{64})$/.exec(image ?? '')?.[1]
