import { extname } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { TagDigestCheck } from './registry-digest.js'
import type { TagList } from './registry-tags.js'

/**
 * The watcher's registry client, run in a worker thread (./registry-thread.ts): `checkDigest` and
 * `listTags` answer what `checkTagDigest` and `listTags` answer, but the requests, their TLS, the
 * credential reads and the garbage they make are the thread's. A 500-service watch cycle cost the
 * event loop that answers HTTP about 30 ms of CPU in the registry client alone, in many short
 * passes that the /healthz answers of the cycle waited behind (issue #19, bench/figures/watch.ts).
 *
 * The thread starts at the first request (an updater that does not watch has none), is not waited
 * for while nothing is asked of it, and is started again after it stops. Nothing is lost with it:
 * every request asked of a thread that stops, or that does not answer in time, is answered
 * `unavailable` (never thrown), as a registry that did not answer would be. A thread that stops
 * before answering anything (its program cannot load) is not started again for a minute: until
 * then requests are answered `unavailable` at once, with its reason.
 */
export interface RegistryThreadOptions {
  /** The updater's own Docker config.json (its registry credentials). */
  dockerConfigPath: string
  /** Bound on one check or listing, in the thread (every request, the token, a credential helper). */
  timeoutMs: number
}

export interface RegistryWorkerOptions extends RegistryThreadOptions {
  /** The thread's program (default ./registry-thread): tests start one that fails on demand. */
  program?: string
  /** A thread stopped on an error (logged by the caller), or could not be started. */
  onThreadError?: (error: Error) => void
  now?: () => number
}

export interface RegistryCall { id: number, op: 'digest' | 'tags', image: string }
type Answer = { id: number, result: TagDigestCheck | TagList } | { id: number, failure: string }
type Unavailable = (why: string) => TagDigestCheck | TagList

interface Pending {
  resolve: (answer: TagDigestCheck | TagList) => void
  unavailable: Unavailable
  guard: NodeJS.Timeout
}

// The thread is ./registry-thread.js when built, and .ts under `node --import tsx` (tests, dev).
const threadProgram = fileURLToPath(new URL(`./registry-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url))
/** How long after the thread's own bound a request is answered `unavailable` without it. */
const GRACE_MS = 2000
/** How long a thread that stopped before answering anything is not started again. */
export const RESTART_PAUSE_MS = 60_000

/**
 * Under `node --import tsx` (tests, dev) the program is TypeScript, and worker threads do not
 * inherit tsx's loader (privatenumber/tsx#354): the thread registers it before importing the program.
 * The built updater starts the .js program itself; it never loads tsx.
 */
function threadOf (program: string, workerData: RegistryThreadOptions): Worker {
  if (extname(program) !== '.ts') return new Worker(program, { workerData })
  const code = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(pathToFileURL(program).href)}) })`
  return new Worker(code, { eval: true, workerData })
}

export class RegistryWorker {
  readonly #options: RegistryThreadOptions
  readonly #program: string
  readonly #onThreadError: (error: Error) => void
  readonly #now: () => number
  readonly #pending = new Map<number, Pending>()
  #worker: Worker | undefined
  #next = 0
  #closed = false
  /** a thread stopped before answering anything: why, and when one may be started again */
  #paused: { why: string, until: number } | undefined

  constructor ({ program = threadProgram, onThreadError = () => {}, now = Date.now, ...options }: RegistryWorkerOptions) {
    this.#options = options
    this.#program = program
    this.#onThreadError = onThreadError
    this.#now = now
  }

  /** The running thread's ID (undefined before the first request and after close). */
  get threadId (): number | undefined {
    return this.#worker?.threadId
  }

  async checkDigest (image: string): Promise<TagDigestCheck> {
    return await this.#call('digest', image, (why) => ({ unavailable: why, backoff: false, budget: {}, responses: [] })) as TagDigestCheck
  }

  async listTags (image: string): Promise<TagList> {
    return await this.#call('tags', image, (why) => ({ unavailable: why, backoff: false, budget: {}, requests: 0, responses: [] })) as TagList
  }

  /** Ends the thread and its connections at once (app close); what is pending is answered `unavailable`. */
  async close (): Promise<void> {
    this.#closed = true
    await this.#fail('the updater is shutting down')
  }

  async #call (op: RegistryCall['op'], image: string, unavailable: Unavailable): Promise<TagDigestCheck | TagList> {
    if (this.#closed) return unavailable('the updater is shutting down')
    if (this.#paused !== undefined && this.#now() < this.#paused.until) {
      return unavailable(`${this.#paused.why}; next try at ${new Date(this.#paused.until).toISOString()}`)
    }
    const id = this.#next++
    return await new Promise((resolve) => {
      const guard = setTimeout(() => { this.#overdue(id) }, this.#options.timeoutMs + GRACE_MS)
      this.#pending.set(id, { resolve, unavailable, guard })
      try {
        const worker = this.#worker ?? this.#start()
        worker.ref()
        worker.postMessage({ id, op, image } satisfies RegistryCall)
      } catch (error) {
        // The thread could not be started (then none is tried for a while), or this request not handed to it.
        const why = `the registry client could not be reached: ${(error as Error).message}`
        if (this.#worker === undefined) this.#paused = { why, until: this.#now() + RESTART_PAUSE_MS }
        this.#onThreadError(error as Error)
        this.#answer(id, (pending) => pending.unavailable(why))
      }
    })
  }

  /** No answer within the thread's own bound: it is stuck, and a new one serves what follows. */
  #overdue (id: number): void {
    // An answer may be waiting behind this timer (the event loop was held): it is read first.
    setImmediate(() => {
      if (this.#pending.has(id)) this.#fail(`the registry client did not answer within ${this.#options.timeoutMs + GRACE_MS} ms`).catch(() => {})
    })
  }

  #start (): Worker {
    const worker = threadOf(this.#program, this.#options)
    worker.unref()
    let answered = false
    worker.on('message', (answer: Answer) => {
      answered = true
      this.#answer(answer.id, (pending) => 'result' in answer ? answer.result : pending.unavailable(`the registry client failed: ${answer.failure}`))
    })
    let reason = 'it stopped'
    worker.on('error', (error) => {
      reason = error.message
      this.#onThreadError(error)
    })
    worker.on('exit', () => {
      if (this.#worker !== worker) return
      const why = `the registry client stopped: ${reason}`
      if (!answered) this.#paused = { why, until: this.#now() + RESTART_PAUSE_MS }
      this.#fail(why).catch(() => {})
    })
    this.#worker = worker
    return worker
  }

  #answer (id: number, answer: (pending: Pending) => TagDigestCheck | TagList): void {
    const pending = this.#pending.get(id)
    if (pending === undefined) return
    clearTimeout(pending.guard)
    this.#pending.delete(id)
    if (this.#pending.size === 0) this.#worker?.unref()
    pending.resolve(answer(pending))
  }

  /** Answers everything pending with `why` and lets the thread go: the next request starts a new one. */
  async #fail (why: string): Promise<void> {
    const worker = this.#worker
    this.#worker = undefined
    for (const id of [...this.#pending.keys()]) this.#answer(id, (pending) => pending.unavailable(why))
    await worker?.terminate().catch(() => {})
  }
}
