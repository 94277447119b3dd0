/**
 * One read shared by every delivery that asks while it is in flight, as POST /update shares its
 * reads of a service (src/engine/service-reads.ts): a burst of deliveries costs one
 * `docker service ls`, not one each. Nothing is cached beyond the read: a delivery that arrives
 * after it ended starts the next one. Each read carries its sequence number, which tells whether it
 * began before or after something else happened (digests-in-flight.ts).
 */
export interface Read<T> {
  value: T
  /** when the read began, on the clock of `tick` */
  seq: number
}

export class SharedRead<T> {
  readonly #read: () => Promise<T>
  readonly #tick: () => number
  readonly #onStart: (seq: number) => void
  #inFlight: Promise<Read<T>> | undefined

  /** `tick` gives the next instant of a shared logical clock; `onStart` is told when a read begins. */
  constructor (read: () => Promise<T>, tick: () => number, onStart: (seq: number) => void = () => {}) {
    this.#read = read
    this.#tick = tick
    this.#onStart = onStart
  }

  async get (): Promise<Read<T>> {
    if (this.#inFlight !== undefined) return this.#inFlight
    const seq = this.#tick()
    this.#onStart(seq)
    const read = this.#read().then((value) => ({ value, seq }))
    this.#inFlight = read
    const clear = (): void => { if (this.#inFlight === read) this.#inFlight = undefined }
    read.then(clear, clear)
    return read
  }
}
