import { spawn, type ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { EventStreamStopped } from '../errors.js'
import { dockerEnv, dockerReason } from './runner.js'
import { EventWaiters } from './event-waiters.js'
import { splitLines } from './lines.js'
import { compareTimeNano, nowTimeNano, parseServiceEvent, toDockerTime, type ServiceEvent } from './service-event.js'

export type { ServiceAction, ServiceEvent } from './service-event.js'

type LogFn = (obj: object, msg?: string) => void
export interface EventsLog { warn: LogFn, info: LogFn, debug: LogFn }

export interface ServiceEventsOptions {
  bin: string
  dockerHost?: string | undefined
  env?: NodeJS.ProcessEnv
  log?: EventsLog
  /** a child alive this long without exiting counts as connected (default 500 ms) */
  upAfterMs?: number
  /** first restart delay, doubled on each failure in a row (default 250 ms) */
  minBackoffMs?: number
  /** longest restart delay (default 10 s) */
  maxBackoffMs?: number
  /** a child that lived this long resets the backoff (default 60 s) */
  stableAfterMs?: number
}

export interface ServiceEventsMap {
  event: [ServiceEvent]
  /** the stream is connected: events are flowing, polling can stop */
  up: []
  /** the stream is down (reason): poll until `up` */
  down: [string]
}

const STDERR_KEPT = 4096
const LONGEST_LINE = 1024 * 1024
const silent: EventsLog = { warn () {}, info () {}, debug () {} }

/**
 * One long-lived `docker events --filter type=service` process, restarted with backoff when it
 * ends, that emits every service event (create / update with Swarm's updatestate / remove).
 *
 * spawn, not the execFile of runner.ts: execFile buffers stdout until the process exits, and this one
 * never exits. Each restart passes `--since` the exact time of the last event seen (or of the
 * first start), so transitions that happen while no process is connected are replayed by the
 * daemon; `--since` is inclusive, hence the de-duplication of events at that very time. The
 * daemon replays from an in-memory buffer of its last 256 events of every type (moby
 * daemon/events), so a long gap on a busy engine can still lose some: confirm with one read after
 * `up` whatever a waiter needs for certain.
 *
 * Connected or not: `docker events` prints nothing until an event happens, so silence says
 * nothing. The CLI exits at once (≈80 ms measured) with a message on stderr when it cannot reach
 * the daemon or is refused, and exits when the daemon goes away; so a child still alive after
 * `upAfterMs` is taken as connected. Even if it subscribed later than that, the first start's
 * `--since <spawn time>` makes the daemon replay what happened meanwhile.
 */
export class ServiceEvents extends EventEmitter<ServiceEventsMap> {
  readonly #bin: string
  readonly #env: NodeJS.ProcessEnv
  readonly #log: EventsLog
  readonly #upAfterMs: number
  readonly #minBackoffMs: number
  readonly #maxBackoffMs: number
  readonly #stableAfterMs: number
  readonly #waiters = new EventWaiters()
  #running = false
  #healthy = false
  /** 'down' already emitted since the last 'up' (or since start) */
  #downReported = false
  #child: ChildProcess | undefined
  #restartTimer: NodeJS.Timeout | undefined
  #failures = 0
  /** timeNano the next process resumes from: the last event's, else the first spawn's */
  #resumeFrom: string | undefined
  #lastEventTime: string | undefined
  /** raw lines of the events at #lastEventTime, to drop them when `--since` replays them */
  #linesAtLastTime = new Set<string>()
  /** settles once the current child's 'close' (or spawn 'error') has been handled */
  #childClosed: Promise<unknown> = Promise.resolve()
  readonly #stats = { spawns: 0, restarts: 0, events: 0, badLines: 0 }

  constructor (options: ServiceEventsOptions) {
    super()
    this.#bin = options.bin
    this.#env = dockerEnv(options.env ?? process.env, options.dockerHost)
    this.#log = options.log ?? silent
    this.#upAfterMs = options.upAfterMs ?? 500
    this.#minBackoffMs = options.minBackoffMs ?? 250
    this.#maxBackoffMs = options.maxBackoffMs ?? 10_000
    this.#stableAfterMs = options.stableAfterMs ?? 60_000
  }

  /** true while a `docker events` process is connected; false means: poll. */
  get healthy (): boolean {
    return this.#healthy
  }

  /** PID of the current `docker events` process, if one runs. */
  get pid (): number | undefined {
    return this.#child?.pid
  }

  /** processes spawned, restarts scheduled, service events emitted, lines that were not service events */
  get stats (): { spawns: number, restarts: number, events: number, badLines: number, waiters: number } {
    return { ...this.#stats, waiters: this.#waiters.size }
  }

  start (): void {
    if (this.#running) return
    this.#running = true
    this.#downReported = false
    this.#resumeFrom = undefined // a fresh start begins now, not where a stopped stream left off
    this.#spawn()
  }

  /**
   * Kills the process without restart, rejects pending waiters; resolves once the process is gone
   * and its end handled (its 'close': its last output read), so nothing of it comes later.
   */
  async stop (): Promise<void> {
    if (!this.#running) return
    this.#running = false
    clearTimeout(this.#restartTimer)
    this.#restartTimer = undefined
    this.#waiters.rejectAll(() => new EventStreamStopped())
    const child = this.#child
    this.#child = undefined
    this.#setDown('stopped')
    if (child === undefined) return
    if (child.exitCode === null && child.signalCode === null) {
      const kill = setTimeout(() => child.kill('SIGKILL'), 2000).unref()
      child.once('exit', () => clearTimeout(kill))
      child.kill('SIGTERM')
    }
    await this.#childClosed
  }

  /**
   * The first event of `serviceId` that matches `predicate`, from now on. Waiters are kept per
   * service, so an event only ever looks at its own service's waiters. Rejects with the signal's
   * reason on abort, with EventStreamStopped on stop(). Stays pending while the stream is down
   * (the restart replays the gap): race it with polling while `healthy` is false.
   */
  async waitFor (serviceId: string, predicate: (event: ServiceEvent) => boolean, signal?: AbortSignal): Promise<ServiceEvent> {
    if (!this.#running) throw new EventStreamStopped()
    return this.#waiters.add(serviceId, predicate, signal)
  }

  #spawn (): void {
    this.#restartTimer = undefined
    this.#resumeFrom ??= nowTimeNano()
    const args = ['events', '--format', '{{json .}}', '--filter', 'type=service', '--since', toDockerTime(this.#resumeFrom)]
    const child = spawn(this.#bin, args, { shell: false, env: this.#env, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true })
    this.#child = child
    // One emit runs every listener, so when stop() resumes after this, end() below has run too.
    this.#childClosed = new Promise((resolve) => { child.once('close', resolve).once('error', resolve) })
    this.#stats.spawns++
    const spawnedAt = Date.now()
    let stderr = ''
    let ended = false
    const upTimer = setTimeout(() => this.#setUp(child), this.#upAfterMs).unref()
    const lines = splitLines(LONGEST_LINE, (line) => this.#onLine(line, child), () => { this.#stats.badLines++ })

    child.stdout?.setEncoding('utf8')
    child.stdout?.on('data', (chunk: string) => lines.push(chunk))
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEPT)
    })

    const end = (reason: string, detail: object): void => {
      if (ended) return
      ended = true
      clearTimeout(upTimer)
      lines.flush()
      if (this.#child !== child) return // stopped: stop() has done the rest
      this.#child = undefined
      if (Date.now() - spawnedAt >= this.#stableAfterMs) this.#failures = 0
      const delay = Math.min(this.#maxBackoffMs, this.#minBackoffMs * 2 ** this.#failures)
      this.#failures++
      this.#log.warn({ ...detail, reason, restartInMs: delay }, 'docker events stream ended; polling until it is back')
      this.#setDown(reason)
      this.#stats.restarts++
      this.#restartTimer = setTimeout(() => this.#spawn(), delay).unref()
    }
    child.once('error', (error: NodeJS.ErrnoException) => {
      const reason = error.code === 'ENOENT'
        ? `the Docker CLI (${this.#bin}) is not installed or not on PATH`
        : `cannot run the Docker CLI (${error.code ?? error.message})`
      end(reason, { code: error.code })
    })
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
      const reason = stderr.trim() !== ''
        ? dockerReason(stderr)
        : signal !== null ? `docker events was killed by ${signal}` : `docker events exited with code ${code}`
      end(reason, { exitCode: code, signal })
    })
  }

  #onLine (line: string, child: ChildProcess): void {
    if (line.trim() === '') return
    const event = parseServiceEvent(line)
    if (event === undefined) {
      this.#stats.badLines++
      this.#log.debug({ line: line.slice(0, 200) }, 'docker events printed a line that is not a service event')
      return
    }
    if (this.#lastEventTime !== undefined) {
      const order = compareTimeNano(event.timeNano, this.#lastEventTime)
      if (order < 0 || (order === 0 && this.#linesAtLastTime.has(line))) return // replayed by --since
      if (order > 0) this.#linesAtLastTime.clear()
    }
    this.#lastEventTime = event.timeNano
    this.#resumeFrom = event.timeNano
    this.#linesAtLastTime.add(line)
    this.#stats.events++
    this.#setUp(child)
    this.#waiters.settle(event)
    this.emit('event', event)
  }

  #setUp (child: ChildProcess): void {
    if (this.#healthy || this.#child !== child) return
    this.#healthy = true
    this.#downReported = false
    this.#log.info({ pid: child.pid }, 'docker events stream connected')
    this.emit('up')
  }

  #setDown (reason: string): void {
    const wasHealthy = this.#healthy
    this.#healthy = false
    if (!wasHealthy && this.#downReported) return
    this.#downReported = true
    this.emit('down', reason)
  }
}
