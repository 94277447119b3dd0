import type { CommandFailure, CommandRunner } from '../src/docker/runner.ts'

/**
 * A stand-in for the Docker CLI, for the cases a real Swarm cannot produce on demand (a node that
 * is not a manager, "update out of sequence", exact orderings of concurrent requests). It answers
 * the commands the updater runs with Docker's own output shapes, including inspect's ID-prefix
 * matching. The contract itself is proven against the real Swarm in test/swarm/.
 */
export interface FakeService {
  id: string
  name: string
  image: string
  version: number
  forceUpdate: number
  replicas: number
  updateStatus?: { State: string, StartedAt: string, CompletedAt?: string, Message: string }
  /** how the next updates end, consumed in order; default 'completed' */
  outcomes: Array<'completed' | 'rollback_completed' | 'paused' | 'never' | 'reset'>
  /** polls an update stays in "updating" */
  pollsToFinish: number
  taskError?: string
  labels?: Record<string, string>
  /** false: tasks are still starting (for the status-reset case) */
  tasksRunning?: boolean
  /** the image a running update rolls onto */
  pendingImage?: string
}

export class FakeDocker {
  readonly services = new Map<string, FakeService>()
  readonly calls: string[][] = []
  /** registry: repository:tag → digest */
  readonly registry = new Map<string, string>()
  /** injected failures for the next matching commands */
  /** injected failures for the next matching commands; `after`: the command takes effect, then fails (an uncertain write) */
  readonly failures: Array<{ match: (args: readonly string[]) => boolean, failure: CommandFailure, after?: boolean }> = []
  /** printed on stderr by the next `service update` (Docker's warnings) */
  updateWarning: string | undefined
  swarm = { LocalNodeState: 'active', ControlAvailable: true }
  #polls = new Map<string, number>()
  #clock = Date.parse('2026-01-01T00:00:00Z')

  addService (name: string, image: string, extra: Partial<FakeService> = {}): FakeService {
    const id = (name.replace(/[^a-z0-9]/g, '') + 'x'.repeat(25)).slice(0, 12) + Math.random().toString(36).slice(2, 15).padEnd(13, '0')
    const service: FakeService = { id, name, image, version: 10, forceUpdate: 0, replicas: 1, outcomes: [], pollsToFinish: 1, ...extra }
    this.services.set(id, service)
    return service
  }

  updates (id: string): number {
    return this.calls.filter((args) => args[1] === 'update' && args.at(-1) === id).length
  }

  runner: CommandRunner = async (args, options) => {
    this.calls.push([...args])
    await new Promise((resolve) => setImmediate(resolve))
    const failure = this.failures.findIndex((f) => f.match(args))
    if (failure !== -1) {
      const injected = this.failures.splice(failure, 1)[0]!
      if (injected.after === true) await this.runner(args)
      throw injected.failure
    }
    if (args[0] === 'service' && args[1] === 'update' && this.updateWarning !== undefined) options?.onStderr?.(this.updateWarning)
    const [group, command] = args
    if (group === 'info') return JSON.stringify(this.swarm) + '\n'
    if (group === 'service' && command === 'inspect') {
      const refs = args.slice(args.indexOf('--') + 1)
      return JSON.stringify(refs.map((ref) => this.#inspect(ref))) + '\n'
    }
    if (group === 'service' && command === 'update') return this.#update(args)
    if (group === 'service' && command === 'ls' && args.includes('--quiet')) {
      // `--filter label=KEY`: the services carrying that label (any value).
      const label = args.find((a) => a.startsWith('label='))?.slice('label='.length)
      return [...this.services.values()].filter((s) => label === undefined || s.labels?.[label] !== undefined).map((s) => `${s.id}\n`).join('')
    }
    if (group === 'service' && command === 'ps' && args.includes('--quiet')) {
      const service = this.#find(args.at(-1)!)
      return Array.from({ length: service?.replicas ?? 0 }, (_, i) => `${service?.id}.${i}\n`).join('')
    }
    if (group === 'inspect' && args[1] === '--type' && args[2] === 'task') {
      // Tasks follow their service's spec once its update status was reset (see tasksConverged).
      return JSON.stringify(args.slice(4).map((taskId) => this.services.get(taskId.split('.')[0]!)).map((service) => ({
        Status: { State: service?.tasksRunning === false ? 'starting' : 'running' },
        Spec: { ForceUpdate: service?.forceUpdate, ContainerSpec: { Image: service?.image } }
      })))
    }
    if (group === 'service' && command === 'ps') {
      const service = this.#find(args.at(-1)!)
      return JSON.stringify({ ID: 'task1', Image: service?.image, Error: service?.taskError ?? '' }) + '\n'
    }
    throw fail(`unknown command ${args.join(' ')}`)
  }

  #find (ref: string): FakeService | undefined {
    for (const service of this.services.values()) if (service.name === ref) return service
    // Docker matches ID prefixes too.
    for (const service of this.services.values()) if (service.id.startsWith(ref)) return service
    return undefined
  }

  #inspect (ref: string): unknown {
    const service = this.#find(ref)
    if (service === undefined) throw fail(`Error: No such service: ${ref}`)
    const polls = (this.#polls.get(service.id) ?? 0) + 1
    this.#polls.set(service.id, polls)
    const status = service.updateStatus
    if (status?.State === 'updating' && polls >= service.pollsToFinish) {
      // 'never' stays until the next `service update` replaces the update that never ends.
      const outcome = service.outcomes[0] === 'never' ? 'never' : service.outcomes.shift() ?? 'completed'
      if (outcome === 'reset') {
        // Another client changed the spec: Swarm drops UpdateStatus and the tasks roll silently.
        service.version++
        service.image = service.pendingImage ?? service.image
        delete service.updateStatus
      } else if (outcome !== 'never') {
        service.version++
        status.State = outcome
        status.CompletedAt = this.#now()
        status.Message = outcome === 'rollback_completed' ? 'rollback completed' : outcome === 'paused' ? 'update paused due to failure or early termination of task x' : 'update completed'
        if (outcome === 'completed') service.image = service.pendingImage ?? service.image
      }
    }
    return {
      ID: service.id,
      Version: { Index: service.version },
      Spec: {
        Name: service.name,
        Labels: service.labels ?? {},
        Mode: { Replicated: { Replicas: service.replicas } },
        TaskTemplate: { ForceUpdate: service.forceUpdate, ContainerSpec: { Image: service.image } }
      },
      ...(service.updateStatus !== undefined && { UpdateStatus: service.updateStatus })
    }
  }

  #update (args: readonly string[]): string {
    const id = args.at(-1)!
    const service = this.services.get(id)
    if (service === undefined) throw fail(`Error: No such service: ${id}`)
    const image = args[args.indexOf('--image') + 1]!
    const digest = this.registry.get(image) ?? 'sha256:' + '0'.repeat(64)
    if (service.outcomes[0] === 'never' && service.updateStatus?.State === 'updating') service.outcomes.shift()
    service.version++
    service.forceUpdate++
    // With the registry unreachable Docker writes the tag without a digest, and warns.
    service.pendingImage = this.updateWarning !== undefined ? image : `${image}@${digest}`
    this.#polls.set(id, 0)
    service.updateStatus = { State: 'updating', StartedAt: this.#now(), Message: 'update in progress' }
    return `${id}\n`
  }

  #now (): string {
    this.#clock += 1000
    return new Date(this.#clock).toISOString()
  }
}

export function fail (stderr: string, extra: Partial<CommandFailure> = {}): CommandFailure {
  return { timedOut: false, exitCode: 1, stderr: stderr + '\n', ...extra }
}
