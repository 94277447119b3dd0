import { candidateServiceNames, isValidServiceName } from '../docker/names.js'
import type { ServiceState, Swarm } from '../docker/swarm.js'
import { InvalidServiceName, ServiceNotFound } from '../errors.js'

/**
 * Reads of a service on the request path, shared: while one read of a name is in flight, every
 * request for that name that arrives gets its result, and the next request after it ends starts a
 * new read. Nothing is cached past the read, so no request can act on a state older than the
 * moment it arrived at (a burst of 2,000 requests costs a handful of `docker service inspect`
 * spawns, not 2,000: docs/BENCHMARKS.md).
 */
export class ServiceReads {
  readonly #swarm: Swarm
  readonly #inFlight = new Map<string, Promise<ServiceState>>()

  constructor (swarm: Swarm) {
    this.#swarm = swarm
  }

  /**
   * The service a request means: exactly `appName`, else the stack convention
   * `<appName>_<appName>`. `inspect` also matches ID prefixes, hence the exact name check.
   */
  async resolve (appName: string, names: readonly string[] = candidateServiceNames(appName)): Promise<ServiceState> {
    if (!isValidServiceName(appName)) throw new InvalidServiceName(JSON.stringify(appName))
    let read = this.#inFlight.get(appName)
    if (read === undefined) {
      read = this.#read(appName, names).finally(() => this.#inFlight.delete(appName))
      this.#inFlight.set(appName, read)
    }
    return read
  }

  async #read (appName: string, names: readonly string[]): Promise<ServiceState> {
    for (const name of names) {
      const service = await this.#swarm.inspectService(name)
      if (service !== undefined && service.name === name) return service
    }
    throw new ServiceNotFound(appName)
  }
}
