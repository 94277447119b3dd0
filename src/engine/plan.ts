import { imageDigest, targetImage } from '../docker/image-ref.js'
import type { ServiceState } from '../docker/swarm.js'
import { resolveTagDigest, type TagDigest } from '../docker/registry-digest.js'
import { dockerConfigPath } from '../docker/registry-auth.js'

/** What an update would roll one service onto (a dry run's row, docs/API.md). */
export interface PlanEntry {
  service: string
  image: string
  targetImage: string
  registryDigest?: string
  upToDate?: boolean
  registryError?: string
}

/**
 * What an update would roll each service onto; nothing is changed. Where the registry can be
 * asked with the updater's own credentials, the digest the tag points to now (one lookup per
 * distinct repo:tag) and whether the service already runs it.
 */
export async function planUpdates (services: readonly ServiceState[], tag: string | undefined): Promise<PlanEntry[]> {
  const lookups = new Map<string, Promise<TagDigest>>()
  return Promise.all(services.map(async (service) => {
    const target = targetImage(service.image, tag)
    if (target === undefined) return { service: service.name, image: service.image, targetImage: service.image, registryError: 'pinned by digest without a tag: pass "tag"' }
    let lookup = lookups.get(target)
    if (lookup === undefined) lookups.set(target, lookup = resolveTagDigest(target, { dockerConfigPath: dockerConfigPath() }))
    const found = await lookup
    const current = imageDigest(service.image)
    return {
      service: service.name,
      image: service.image,
      targetImage: target,
      ...('digest' in found ? { registryDigest: found.digest, upToDate: current === found.digest } : { registryError: found.unavailable })
    }
  }))
}
