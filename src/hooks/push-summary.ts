import type { FastifyBaseLogger } from 'fastify'
import type { HookSource, PushEvent } from './events.js'

export type Skipped = Array<{ service: string, reason: string }>

/** How many examples a summary line names, and how many skipped services each example lists. */
const EXAMPLES = 3

/**
 * What one delivery's events came to, logged as one line (issue #24 item 7): a Distribution batch
 * can carry thousands of tag pushes that match no service, and a line each drowned the log. Every
 * started batch still has its own audit line (push.ts): those changed something.
 */
export class PushSummary {
  readonly #source: HookSource
  readonly #events: number
  #started = 0
  #idle = 0
  #refused = 0
  readonly #examples: Array<Record<string, unknown>> = []

  constructor (source: HookSource, events: number) {
    this.#source = source
    this.#events = events
  }

  started (): void {
    this.#started++
  }

  /** An event that updates nothing (no service of that tag, or every one skipped, with the reasons). */
  idle (event: PushEvent, image: string, skipped: Skipped): void {
    this.#idle++
    this.#example({ eventId: event.id, image, skipped: skipped.slice(0, EXAMPLES), ...(skipped.length > EXAMPLES && { moreSkipped: skipped.length - EXAMPLES }) })
  }

  /** An event whose updates the engine refused (shutting down, the store down). */
  refused (event: PushEvent, image: string, error: unknown): void {
    this.#refused++
    this.#example({ eventId: event.id, image, refused: (error as Error).message })
  }

  write (log: FastifyBaseLogger): void {
    const hook = { source: this.#source, events: this.#events, started: this.#started, nothingToUpdate: this.#idle, refused: this.#refused, examples: this.#examples }
    if (this.#refused > 0) log.warn({ hook }, 'push events: some updates could not be started')
    else if (this.#started === 0) log.info({ hook }, 'push events: nothing to update')
    else log.info({ hook }, 'push events: updates started')
  }

  #example (example: Record<string, unknown>): void {
    if (this.#examples.length < EXAMPLES) this.#examples.push(example)
  }
}
