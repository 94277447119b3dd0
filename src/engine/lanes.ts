/**
 * One lane per service: at most one Docker update runs per service, and requests that arrive
 * while it runs join the single next update (DESIGN: "Concurrency"). Generic over the job, so the
 * rules can be read and tested without Docker:
 * - only the newest not-yet-started job can be joined, and only by a request for the same target;
 * - the running job blocks the lane until it is final or timed out; after a timeout the next job
 *   may start (and supersede it: the caller of `start` decides what that means).
 */
export interface LaneJob {
  /** the job has read the service: later requests can no longer join it */
  readonly started: boolean
  /** running and within its deadline: nothing else may start in its lane */
  readonly blocking: boolean
  /** what a request must ask for to join it (e.g. the tag) */
  readonly joinKey: string
}

interface Lane<J> {
  current?: J
  queue: J[]
}

export class Lanes<J extends LaneJob> {
  readonly #lanes = new Map<string, Lane<J>>()
  readonly #start: (job: J, previous: J | undefined) => void

  /** `start` runs a job; `previous` is the lane's timed-out job still being watched, if any. */
  constructor (start: (job: J, previous: J | undefined) => void) {
    this.#start = start
  }

  /** The job a request for `joinKey` joins, if one is waiting to start. */
  joinable (key: string, joinKey: string): J | undefined {
    const lane = this.#lanes.get(key)
    const last = lane?.queue.at(-1) ?? lane?.current
    return last !== undefined && !last.started && last.joinKey === joinKey ? last : undefined
  }

  /** Starts the job at once when the lane is free (or only watching a timed-out job), else queues it. */
  add (key: string, job: J): void {
    let lane = this.#lanes.get(key)
    if (lane === undefined) {
      lane = { queue: [] }
      this.#lanes.set(key, lane)
    }
    lane.queue.push(job)
    this.next(key)
  }

  /** Puts a job that is already running (resumed after a restart) in its lane. */
  adopt (key: string, job: J): void {
    const lane = this.#lanes.get(key) ?? { queue: [] }
    lane.current = job
    this.#lanes.set(key, lane)
  }

  /** Call when the lane's job became final or timed out: starts the next one if it may. */
  next (key: string): void {
    const lane = this.#lanes.get(key)
    if (lane === undefined || lane.current?.blocking === true) return
    const job = lane.queue.shift()
    if (job === undefined) {
      if (lane.current === undefined) this.#lanes.delete(key)
      return
    }
    const previous = lane.current
    lane.current = job
    this.#start(job, previous)
  }

  /** The job ended for good: frees its lane (and starts the next job). */
  finished (key: string, job: J): void {
    const lane = this.#lanes.get(key)
    if (lane === undefined) return
    if (lane.current === job) lane.current = undefined
    else lane.queue = lane.queue.filter((j) => j !== job)
    this.next(key)
  }

  /** Has the lane a job, running (or still watched after a timeout) or queued? */
  occupied (key: string): boolean {
    const lane = this.#lanes.get(key)
    return lane !== undefined && (lane.current !== undefined || lane.queue.length > 0)
  }

  /** Removes and returns every job that has not started (shutdown cancels them). */
  drainQueued (): J[] {
    const out: J[] = []
    for (const [key, lane] of this.#lanes) {
      out.push(...lane.queue)
      lane.queue = []
      if (lane.current !== undefined && !lane.current.started) out.push(lane.current)
      if (lane.current === undefined) this.#lanes.delete(key)
    }
    return out
  }

  /** Every job in a lane, running or queued. */
  * jobs (): Generator<J> {
    for (const lane of this.#lanes.values()) {
      if (lane.current !== undefined) yield lane.current
      yield * lane.queue
    }
  }
}
