import { normalizeRepository } from '../docker/image-ref.js'
import type { TagDigestCheck } from '../docker/registry-digest.js'
import type { TagList } from '../docker/registry-tags.js'
import type { ServiceState } from '../docker/swarm.js'
import type { RegistryBudget, RequestLimiter } from './budget.js'
import type { WatchTraffic } from './metrics.js'
import { formatDuration } from './durations.js'
import { currentImage, watchSettings, type WatchMode, type WatchSettings } from './policies.js'
import { selectTag } from './tag-rules.js'
import { CheckWriter } from './check-writer.js'
import { forEachInTurns } from './turns.js'
import type { ServiceCheck, WatchStore } from './watch-store.js'

/**
 * One watch cycle over the services that are due (DESIGN §7): one HEAD per distinct (registry,
 * repository, tag) and one tag listing per (registry, repository) whatever the number of services,
 * then a decision per service: up to date, quarantined, waiting for min-age, notified (`notify`),
 * or an update submitted to the engine. The timers around it are the scheduler's.
 */
export const WATCH_STATES = ['up_to_date', 'update_available', 'updating', 'waiting_min_age', 'held', 'quarantined', 'deferred', 'pinned', 'error'] as const
export type WatchState = typeof WATCH_STATES[number]

export interface ServiceView {
  serviceId: string
  service: string
  /** the spec's image */
  image: string
  watch: WatchMode
  /** the policy label as written (or `digest`), the schedule and min-age as durations */
  policy: string
  schedule: string
  minAge: string
  state: WatchState
  current: { tag: string | null, digest: string | null }
  available: { image: string, tag: string, digest: string, firstSeenAt: number, eligibleAt: number } | null
  message?: string
}

export interface CycleDeps {
  store: WatchStore
  budget: RegistryBudget
  limiter: RequestLimiter
  checkDigest: (image: string) => Promise<TagDigestCheck>
  listTags: (image: string) => Promise<TagList>
  /** hands the update to the engine; throws what the engine refuses; the record's state (`held` by a gate of §8) */
  submit: (service: ServiceState, tag: string, reason: string, digest: string) => { status: string, heldUntil?: string | undefined } | undefined
  /** `watch=notify`: called once per new tag@digest */
  notifyAvailable: (service: ServiceState, image: string, reason: string, digest: string) => void
  defaultScheduleMs: number
  /** where checks and registry answers are counted (metrics) */
  traffic?: WatchTraffic
  /** an update of this service has just ended and its quarantine is being decided: decide nothing yet */
  settling?: (service: ServiceState) => boolean
  /**
   * The stored checks by service ID, read once per tick (the scheduler's): kept up to date with
   * what this cycle writes. Read from the store when not given.
   */
  stored?: Map<string, ServiceCheck>
  now?: () => number
}

/** Every stored check by service ID: one read. */
export const storedChecks = (store: Pick<WatchStore, 'checks'>): Map<string, ServiceCheck> =>
  new Map(store.checks().map((c) => [c.serviceId, c]))

/** Swarm is rolling the service (forward or back): the outcome decides, not this cycle. */
const ROLLING = new Set(['updating', 'rollback_started'])

/** What a service's labels and spec say, before any check: state `error` until decided. */
export function baseView (service: ServiceState, settings: WatchSettings): ServiceView {
  const current = currentImage(service.image)
  return {
    serviceId: service.id,
    service: service.name,
    image: service.image,
    watch: settings.watch,
    policy: settings.policyText,
    schedule: formatDuration(settings.scheduleMs),
    minAge: formatDuration(settings.minAgeMs),
    state: 'error',
    current: current === undefined || 'pinned' in current ? { tag: null, digest: null } : { tag: current.tag, digest: current.digest ?? null },
    available: null
  }
}

const short = (digest: string | undefined): string => digest === undefined ? 'none' : digest.slice(0, 'sha256:'.length + 2) + '…'

export async function runCycle (services: readonly ServiceState[], deps: CycleDeps): Promise<ServiceView[]> {
  const now = deps.now ?? Date.now
  const stored = deps.stored ?? storedChecks(deps.store)
  const writer = new CheckWriter(deps.store)
  const digests = new Map<string, Promise<TagDigestCheck>>()
  const listings = new Map<string, Promise<TagList>>()
  // Each distinct request once per cycle, through the limiter (one at a time per repository).
  const digestOf = (registry: string, repoKey: string, image: string): Promise<TagDigestCheck> => {
    let pending = digests.get(image)
    if (pending === undefined) {
      pending = deps.limiter.run(repoKey, () => deps.checkDigest(image)).then((check) => {
        deps.traffic?.responses(registry, check.responses)
        deps.budget.record(registry, check.budget, 'unavailable' in check && check.backoff, 'unavailable' in check ? check.unavailable : undefined)
        return check
      })
      digests.set(image, pending)
    }
    return pending
  }
  const tagsOf = (registry: string, repoKey: string, repository: string): Promise<TagList> => {
    let pending = listings.get(repoKey)
    if (pending === undefined) {
      pending = deps.limiter.run(repoKey, () => deps.listTags(repository)).then((list) => {
        deps.traffic?.responses(registry, list.responses)
        deps.budget.record(registry, list.budget, 'unavailable' in list && list.backoff, 'unavailable' in list ? list.unavailable : undefined)
        return list
      })
      listings.set(repoKey, pending)
    }
    return pending
  }

  /** per service ID, the registry its check asked (or found deferred): for the checks metric */
  const registries = new Map<string, string>()
  const decide = async (service: ServiceState): Promise<ServiceView | undefined> => {
    const settings = watchSettings(service.labels, deps.defaultScheduleMs)
    if (settings === undefined) return undefined
    const view = baseView(service, settings)
    if (settings.problems.length > 0) return { ...view, message: settings.problems.join('; ') }
    const current = currentImage(service.image)
    if (current === undefined) return { ...view, message: 'the service image is not a valid reference' }
    if ('pinned' in current) return { ...view, state: 'pinned' }
    if (ROLLING.has(service.updateStatus?.state ?? '') || deps.settling?.(service) === true) {
      return { ...view, state: 'updating', message: 'an update of this service is under way' }
    }
    view.current = { tag: current.tag, digest: current.digest ?? null }
    const { registry, full } = normalizeRepository(current.repository)
    registries.set(service.id, registry)
    const until = deps.budget.deferredUntil(registry)
    if (until !== undefined) return { ...view, state: 'deferred', message: `registry ${registry} deferred until ${new Date(until).toISOString()}` }
    let tag = current.tag
    if (settings.policy.kind !== 'digest') {
      const list = await tagsOf(registry, full, current.repository)
      if ('unavailable' in list) return { ...view, state: list.backoff ? 'deferred' : 'error', message: list.unavailable }
      tag = selectTag(settings.policy, current.tag, list.tags)
    }
    const image = `${current.repository}:${tag}`
    const check = await digestOf(registry, full, image)
    if ('unavailable' in check) return { ...view, state: check.backoff ? 'deferred' : 'error', message: check.unavailable }
    if (tag === current.tag && check.digest === current.digest) return { ...view, state: 'up_to_date' }
    const firstSeenAt = deps.store.firstSeen(`${full}:${tag}`, check.digest, now())
    const available = { image, tag, digest: check.digest, firstSeenAt, eligibleAt: firstSeenAt + settings.minAgeMs }
    const reason = tag !== current.tag
      ? `${settings.policyText} ${current.tag} → ${tag}`
      : `digest ${short(current.digest)} → ${short(check.digest)}`
    const quarantine = deps.store.getQuarantine(service.id)
    if (quarantine !== undefined) {
      if (quarantine.digest === check.digest) return { ...view, state: 'quarantined', available, message: `${short(check.digest)} is quarantined: update ${quarantine.updateId} rolled back, paused or was rejected on it` }
      // The policy selects another digest: the quarantine has done its work.
      deps.store.lift(service.id)
    }
    if (now() < available.eligibleAt) return { ...view, state: 'waiting_min_age', available }
    if (settings.watch === 'notify') {
      const key = `${tag}@${check.digest}`
      if (stored.get(service.id)?.notified !== key) {
        deps.notifyAvailable(service, image, reason, check.digest)
        // Written at once, not behind the cycle: a restart must not notify this digest again.
        const notified: ServiceCheck = { serviceId: service.id, service: service.name, lastCheckedMs: now(), state: 'update_available', message: reason, notified: key }
        deps.store.saveCheck(notified)
        stored.set(service.id, notified)
      }
      return { ...view, state: 'update_available', available, message: reason }
    }
    let submitted
    try {
      submitted = deps.submit(service, tag, reason, check.digest)
    } catch (error) {
      return { ...view, available, message: (error as Error).message }
    }
    if (submitted?.status === 'held') return { ...view, state: 'held', available, message: submitted.heldUntil !== undefined ? `held until ${submitted.heldUntil}` : reason }
    return { ...view, state: 'updating', available, message: reason }
  }

  const settled: Array<Promise<{ view: ServiceView | undefined } | { error: unknown }>> = []
  const decideAndSave = async (service: ServiceState): Promise<ServiceView | undefined> => {
    const view = await decide(service)
    if (view !== undefined) {
      const registry = registries.get(service.id)
      if (registry !== undefined) deps.traffic?.check(registry, view.state)
      const saved: ServiceCheck = { serviceId: service.id, service: service.name, lastCheckedMs: now(), state: view.state, message: view.message ?? null, notified: stored.get(service.id)?.notified ?? null }
      stored.set(service.id, saved)
      writer.queue(saved)
    }
    return view
  }
  // Started a few per turn of the event loop, each caught at once (a failure waits for the others).
  await forEachInTurns(services, (service) => {
    settled.push(decideAndSave(service).then((view) => ({ view }), (error: unknown) => ({ error })))
  })
  const outcomes = await Promise.all(settled)
  await writer.flush()
  const failed = outcomes.find((o) => 'error' in o)
  if (failed !== undefined && 'error' in failed) throw failed.error
  return outcomes.flatMap((o) => 'view' in o && o.view !== undefined ? [o.view] : [])
}
