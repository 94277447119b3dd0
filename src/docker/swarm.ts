import { toSwarmNodes, type SwarmNode } from './swarm-nodes.js'
import { classifyFailure, type CommandRunner, type RunOptions } from './runner.js'
import { DockerFailed, NoPreviousSpec, NotSwarmManager, ServiceNotFound } from '../errors.js'
import { toServiceState, type RawService, type ServiceState } from './service-state.js'

export type { ServiceState, UpdateStatus } from './service-state.js'

export interface SwarmOptions {
  bin: string
  dockerHost?: string | undefined
}

/** Typed Docker Swarm operations on top of a command runner. */
export class Swarm {
  readonly #run: CommandRunner
  readonly #options: SwarmOptions

  constructor (run: CommandRunner, options: SwarmOptions) {
    this.#run = run
    this.#options = options
  }

  async #docker (args: string[], options?: RunOptions): Promise<string> {
    try {
      return await this.#run(args, options)
    } catch (failure) {
      throw classifyFailure(failure, this.#options)
    }
  }

  /** Docker's JSON, or a 502 naming the command: a truncated or garbled answer is Docker's failure. */
  async #json<T> (args: string[], options?: RunOptions): Promise<T> {
    const out = await this.#docker(args, options)
    try {
      return JSON.parse(out) as T
    } catch {
      throw new DockerFailed(`unreadable answer from docker ${args.slice(0, 2).join(' ')}`)
    }
  }

  /**
   * Inspects a service by name or full ID. `docker service inspect` also matches ID prefixes, so
   * callers must compare the returned name (or ID) with what they asked for.
   */
  async inspectService (ref: string): Promise<ServiceState | undefined> {
    let raws: RawService[]
    try {
      raws = await this.#json<RawService[]>(['service', 'inspect', '--', ref])
    } catch (error) {
      // Gone, or a short ID prefix matching several services: either way no such service.
      if (error instanceof ServiceNotFound) return undefined
      throw error
    }
    const raw = Array.isArray(raws) ? raws[0] : undefined
    return raw === undefined ? undefined : toServiceState(raw)
  }

  /**
   * Inspects several services by full ID in one Docker call. Fails as a whole when any of them
   * is gone (the CLI then exits non-zero); callers fall back to one call per service.
   */
  async inspectServices (ids: readonly string[]): Promise<ServiceState[]> {
    if (ids.length === 0) return []
    // Only the fields read come back from the spawn helper: a listing of hundreds of services is
    // megabytes of JSON, which the event loop would parse in one piece (./inspect-trim.ts).
    return (await this.#json<RawService[]>(['service', 'inspect', '--', ...ids], { trim: 'services' })).map(toServiceState)
  }

  /**
   * Every service (or those carrying `label`), read with two calls whatever their number: `ls` for
   * the IDs, one `inspect` for all of them. A service removed between the two is read again alone.
   */
  async listServices (label?: string): Promise<ServiceState[]> {
    const args = ['service', 'ls', '--quiet', ...(label !== undefined ? ['--filter', `label=${label}`] : [])]
    const ids = (await this.#docker(args)).split('\n').map((id) => id.trim()).filter((id) => id !== '')
    try {
      return await this.inspectServices(ids)
    } catch (error) {
      if (!(error instanceof ServiceNotFound)) throw error
      const each = await Promise.all(ids.map(async (id) => this.inspectService(id)))
      return each.filter((s): s is ServiceState => s !== undefined)
    }
  }

  async getService (id: string): Promise<ServiceState> {
    const service = await this.inspectService(id)
    if (service === undefined || service.id !== id) throw new ServiceNotFound(id)
    return service
  }

  /**
   * Starts an update that re-resolves `image` in the registry (no digest: the CLI asks for the tag's
   * current digest) and restarts every task (`--force`). `--detach` returns once Swarm accepted it;
   * the outcome is read from UpdateStatus, because a rolled-back update exits 0.
   */
  async startUpdate (id: string, image: string, withRegistryAuth: boolean): Promise<{ warning?: string }> {
    const args = ['service', 'update', '--detach', '--force', '--image', image]
    if (withRegistryAuth) args.push('--with-registry-auth')
    let warning: string | undefined
    // With the registry unreachable the CLI still updates, without a digest, and only warns:
    // "image X could not be accessed on a registry to record its digest. Each node will access X
    // independently, possibly leading to different nodes running different versions of the image."
    await this.#docker([...args, '--', id], {
      onStderr: (stderr) => {
        // The warning spans several lines: keep it whole, as one line.
        const text = stderr.replace(/\s+/g, ' ').trim()
        if (/could not be accessed on a registry|digest/i.test(text)) warning = text.replace(/^warning:\s*/i, '').slice(0, 500)
      }
    })
    return warning !== undefined ? { warning } : {}
  }

  /**
   * `docker service rollback`: Swarm puts its PreviousSpec back (UpdateStatus `rollback_started`,
   * "manually requested rollback", then `rollback_completed`). `--detach`: the outcome is read like
   * an update's. A service without a PreviousSpec is CU_NO_PREVIOUS_SPEC.
   */
  async rollback (id: string, name: string): Promise<void> {
    try {
      await this.#docker(['service', 'rollback', '--detach', '--', id])
    } catch (error) {
      if (/does not have a previous spec/i.test((error as Error).message)) throw new NoPreviousSpec(name)
      throw error
    }
  }

  /** The newest task error of a service, e.g. "task: non-zero exit (3)": Swarm's real reason. */
  async lastTaskError (id: string): Promise<string | undefined> {
    const out = await this.#docker(['service', 'ps', '--no-trunc', '--format', '{{json .}}', '--', id])
    for (const line of out.split('\n')) {
      if (line.trim() === '') continue
      let task: { Error?: string }
      try {
        task = JSON.parse(line) as { Error?: string }
      } catch {
        continue
      }
      if (typeof task.Error === 'string' && task.Error !== '') return task.Error
    }
    return undefined
  }

  /**
   * The image (with its digest) of the newest task that ran something else than `current`: after
   * Swarm rolled an update back, the image it rolled back from (the spec no longer names it).
   */
  async newestOtherTaskImage (id: string, current: string): Promise<string | undefined> {
    const out = await this.#docker(['service', 'ps', '--no-trunc', '--format', '{{json .Image}}', '--', id])
    for (const line of out.split('\n')) {
      let image: unknown
      try {
        image = JSON.parse(line)
      } catch {
        continue
      }
      if (typeof image === 'string' && image !== current && image.includes('@sha256:')) return image
    }
    return undefined
  }

  /**
   * Have the service's tasks converged on its current spec? Every task meant to run is running,
   * with the spec's image and ForceUpdate counter, and (replicated mode) there are as many as
   * replicas. Used when Swarm gives no UpdateStatus to read.
   */
  async tasksConverged (service: ServiceState): Promise<boolean> {
    const ids = (await this.#docker(['service', 'ps', '--quiet', '--no-trunc', '--filter', 'desired-state=running', '--', service.id]))
      .split('\n').map((id) => id.trim()).filter((id) => id !== '')
    if (service.replicas !== undefined && ids.length !== service.replicas) return false
    if (ids.length === 0) return service.replicas === 0
    const tasks = await this.#json<Array<{
      Status?: { State?: string }
      Spec?: { ForceUpdate?: number, ContainerSpec?: { Image?: string } }
    }>>(['inspect', '--type', 'task', '--', ...ids])
    return Array.isArray(tasks) && tasks.length === ids.length && tasks.every((task) => task.Status?.State === 'running' &&
      (task.Spec?.ForceUpdate ?? 0) === service.forceUpdate &&
      task.Spec?.ContainerSpec?.Image === service.image)
  }

  /** Every node of the swarm (two calls: `node ls` for the IDs, one `node inspect`). */
  async nodes (): Promise<SwarmNode[]> {
    const ids = (await this.#docker(['node', 'ls', '--quiet'])).split('\n').map((id) => id.trim()).filter((id) => id !== '')
    return ids.length === 0 ? [] : toSwarmNodes(await this.#json<unknown>(['node', 'inspect', '--', ...ids]))
  }

  /** Resolves when Docker answers and this node is a Swarm manager; throws the reason otherwise. */
  async checkManager (): Promise<void> {
    const swarm = await this.#json<{ LocalNodeState?: string, ControlAvailable?: boolean } | null>(['info', '--format', '{{json .Swarm}}'])
    if (swarm?.LocalNodeState !== 'active' || swarm.ControlAvailable !== true) throw new NotSwarmManager()
  }
}
