import type { ImagePlatforms } from '../../docker/registry-platforms.js'
import type { ServiceState } from '../../docker/swarm.js'
import type { SwarmNode } from '../../docker/swarm-nodes.js'
import { NoSuitableNode } from '../../errors.js'
import { eligibleNodes, nodePlatform, platformName, runsAny } from './placement.js'

export interface PreflightOptions {
  /** every node of the swarm (`docker node ls` + `inspect`) */
  nodes: () => Promise<SwarmNode[]>
  /** the platforms of an image, from its registry */
  platforms: (image: string) => Promise<ImagePlatforms>
  /** how long one read of the nodes serves later updates (default 10 s) */
  nodesTtlMs?: number
}

/**
 * The pre-flight of every update (DESIGN §8), before anything changes: the nodes the service may
 * run on (placement constraints, availability `active`, state `ready`; placement.ts) must include
 * one whose platform the target image offers. Otherwise 409 CU_NO_SUITABLE_NODE naming why: Swarm
 * would leave the new tasks pending with "no suitable node". What cannot be asked (the registry,
 * Docker's node list) lets the update go on with a warning. The node list is read at most once per
 * `nodesTtlMs`, shared by every update meanwhile: one Docker read per update at most.
 */
export class Preflight {
  readonly #options: PreflightOptions
  #nodes: { at: number, read: Promise<SwarmNode[]> } | undefined

  constructor (options: PreflightOptions) {
    this.#options = options
  }

  /** Throws NoSuitableNode; returns a warning when part of the check could not be made. */
  async check (service: ServiceState, image: string): Promise<{ warning?: string }> {
    let nodes: SwarmNode[]
    try {
      nodes = await this.#readNodes()
    } catch (error) {
      return { warning: `pre-flight: the swarm's nodes could not be read (${(error as Error).message}); the image's platforms were not checked` }
    }
    const constraints = service.constraints ?? []
    const { eligible, excluded } = eligibleNodes(nodes, constraints)
    if (eligible.length === 0) {
      const placement = constraints.length > 0 ? `the placement constraints ${constraints.join(', ')}` : 'its placement'
      throw new NoSuitableNode(service.name, `no node is active and ready under ${placement} (${excluded.join('; ') || 'the swarm has no nodes'})`)
    }
    const offered = await this.#options.platforms(image)
    if ('unavailable' in offered) return { warning: `pre-flight: the image's platforms could not be read (${offered.unavailable}); they were not checked against the nodes` }
    if (!eligible.some((node) => runsAny(node, offered.platforms))) {
      const nodePlatforms = [...new Set(eligible.map(nodePlatform))].join(', ')
      throw new NoSuitableNode(service.name, `the image offers ${offered.platforms.map(platformName).join(', ')}, but the nodes it may run on are ${nodePlatforms}`)
    }
    return {}
  }

  async #readNodes (): Promise<SwarmNode[]> {
    const ttl = this.#options.nodesTtlMs ?? 10_000
    if (this.#nodes === undefined || Date.now() - this.#nodes.at > ttl) {
      const read = this.#options.nodes()
      this.#nodes = { at: Date.now(), read }
      // A failed read is not kept: the next update asks again.
      read.catch(() => { if (this.#nodes?.read === read) this.#nodes = undefined })
    }
    return this.#nodes.read
  }
}
