/** Caps the Docker updates running at once across services (MAX_CONCURRENT_UPDATES). */
export class Semaphore {
  #free: number
  readonly #waiting: Array<() => void> = []

  constructor (size: number) {
    this.#free = size
  }

  get waiting (): number {
    return this.#waiting.length
  }

  /** A slot now, or undefined when none is free. */
  tryAcquire (): (() => void) | undefined {
    if (this.#free === 0) return undefined
    this.#free--
    return this.#releaser()
  }

  async acquire (): Promise<() => void> {
    if (this.#free > 0) this.#free--
    else await new Promise<void>((resolve) => this.#waiting.push(resolve))
    return this.#releaser()
  }

  #releaser (): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.#waiting.shift()
      if (next !== undefined) next()
      else this.#free++
    }
  }
}
