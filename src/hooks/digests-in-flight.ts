/**
 * The pushed digests that updates started by hooks are rolling services onto, until those updates
 * end (issue #22: one restart per service and pushed digest, whatever the number of deliveries,
 * routes or event ids). A service read before an update's `docker service update` wrote its spec
 * still shows the old image; without this, a second delivery of the same push, read then, would
 * queue a second update, which restarts the service again once the first is done (the engine's
 * lanes join requests for one tag only while the queued update has not started).
 *
 * So a (service, digest) counts as handled while its update is queued or running, and, after it
 * ended, for every read that began before it ended. A read that began after sees Swarm's own truth:
 * the spec pins the digest if the update was written, and does not if it failed before that (then a
 * redelivery acts again). Instants are the sequence numbers of one logical clock (`tick`).
 */
interface Entry {
  updateId: string
  digests: Set<string>
  /** when the update ended (final, or its caller's deadline passed); undefined while it runs */
  endedAt?: number
}

export class DigestsInFlight {
  readonly #byService = new Map<string, Entry[]>()
  #clock = 0

  /** The next instant. */
  tick (): number {
    return ++this.#clock
  }

  /** Is `digest` already being rolled onto the service, as seen by a read that began at `readAt`? */
  covers (serviceId: string, digest: string, readAt: number): boolean {
    return (this.#byService.get(serviceId) ?? []).some((e) => e.digests.has(digest) && (e.endedAt === undefined || readAt < e.endedAt))
  }

  /**
   * Notes that update `updateId` (new, or one the request joined) rolls the service onto `digest`;
   * `ended` settles when the update is final or its deadline passed.
   */
  add (serviceId: string, updateId: string, digest: string, ended: Promise<unknown>): void {
    const entries = this.#byService.get(serviceId) ?? []
    const joined = entries.find((e) => e.updateId === updateId)
    if (joined !== undefined) {
      joined.digests.add(digest)
      return
    }
    const entry: Entry = { updateId, digests: new Set([digest]) }
    entries.push(entry)
    this.#byService.set(serviceId, entries)
    const end = (): void => { entry.endedAt = this.tick() }
    ended.then(end, end)
  }

  /**
   * A read begins at `readAt`: entries that ended before it are needed by no read any more (the one
   * before was consumed when it resolved; reads do not overlap, shared-read.ts).
   */
  prune (readAt: number): void {
    for (const [serviceId, entries] of this.#byService) {
      const kept = entries.filter((e) => e.endedAt === undefined || e.endedAt > readAt)
      if (kept.length === 0) this.#byService.delete(serviceId)
      else this.#byService.set(serviceId, kept)
    }
  }

  /** How many updates are tracked (for tests and metrics). */
  get size (): number {
    let n = 0
    for (const entries of this.#byService.values()) n += entries.length
    return n
  }
}
