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
 * `unavailable` (never thrown), as a registry that did not answer would be.
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
}

export interface RegistryCall { id: number, op: 'digest' | 'tags', image: string }
type Answer = { id: number, result: TagDigestCheck | TagList } | { id: number, failure: string }

interface Pending {
  resolve: (answer: TagDigestCheck | TagList) => void
  unavailable: (why: string) => TagDigestCheck | TagList
  guard: NodeJS.Timeout
}

// The thread is ./registry-thread.js when built, and .ts under `node --import tsx` (tests, dev).
const threadProgram = fileURLToPath(new URL(`./registry-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url))
/** How long after the thread's own bound a request is answered `unavailable` without it. */
const GRACE_MS = 2000

/**
 * Under `node --import tsx` (tests, dev) the program is TypeScript, and worker threads do not
 * inherit tsx's loader (privatenumber/tsx#354): the thread registers it before importing the program.
 * The built updater starts the .js program itself; it never loads tsx.
 */
function threadOf (program: string, workerData: RegistryThreadOptions): Worker {
  if (extname(program) !== '.ts') return new Worker(program, { workerData })
  const code = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(pathToFileURL(program).href)}) })`
  return new Worker(code, { eval: true, workerData })
}

export class RegistryWorker {
  readonly #options: RegistryThreadOptions
  readonly #program: string
  readonly #pending = new Map<number, Pending>()
  #worker: Worker | undefined
  #next = 0
  #closed = false

  constructor ({ program = threadProgram, ...options }: RegistryWorkerOptions) {
    this.#options = options
    this.#program = program
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

  async #call (op: RegistryCall['op'], image: string, unavailable: Pending['unavailable']): Promise<TagDigestCheck | TagList> {
    if (this.#closed) return unavailable('the updater is shutting down')
    const worker = this.#worker ?? this.#start()
    const id = this.#next++
    return await new Promise((resolve) => {
      const guard = setTimeout(() => {
        // The thread does not answer within its own bound: it is stuck; a new one serves what follows.
        this.#fail(`the registry client did not answer within ${this.#options.timeoutMs + GRACE_MS} ms`).catch(() => {})
      }, this.#options.timeoutMs + GRACE_MS)
      this.#pending.set(id, { resolve, unavailable, guard })
      worker.ref()
      worker.postMessage({ id, op, image } satisfies RegistryCall)
    })
  }

  #start (): Worker {
    const worker = threadOf(this.#program, this.#options)
    worker.unref()
    worker.on('message', (answer: Answer) => {
      const pending = this.#pending.get(answer.id)
      if (pending === undefined) return
      this.#settle(answer.id, pending, 'result' in answer ? answer.result : pending.unavailable(`the registry client failed: ${answer.failure}`))
    })
    let reason = 'it stopped'
    worker.on('error', (error) => { reason = error.message })
    worker.on('exit', () => {
      if (this.#worker === worker) this.#fail(`the registry client stopped: ${reason}`).catch(() => {})
    })
    this.#worker = worker
    return worker
  }

  #settle (id: number, pending: Pending, answer: TagDigestCheck | TagList): void {
    clearTimeout(pending.guard)
    this.#pending.delete(id)
    if (this.#pending.size === 0) this.#worker?.unref()
    pending.resolve(answer)
  }

  /** Answers everything pending with `why` and lets the thread go: the next request starts a new one. */
  async #fail (why: string): Promise<void> {
    const worker = this.#worker
    this.#worker = undefined
    for (const [id, pending] of this.#pending) this.#settle(id, pending, pending.unavailable(why))
    await worker?.terminate().catch(() => {})
  }
}
