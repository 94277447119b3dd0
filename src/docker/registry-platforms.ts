import { describeFailure, readLimited, RegistrySession, targetOf, Unavailable, type SessionOptions } from './registry-session.js'

/** One platform an image offers (OCI `platform` of an index entry, or an image config's os/architecture). */
export interface ImagePlatform { os: string, architecture: string, variant?: string }

export type ImagePlatforms = { platforms: ImagePlatform[] } | { unavailable: string }

const indexTypes = ['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']
const manifestTypes = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json']
const accept = [...indexTypes, ...manifestTypes].join(', ')
const manifestLimit = 4 * 1024 * 1024
const configLimit = 8 * 1024 * 1024
const digestPattern = /^sha256:[0-9a-f]{64}$/

interface Manifest {
  mediaType?: string
  manifests?: Array<{ platform?: { os?: unknown, architecture?: unknown, variant?: unknown } }>
  config?: { digest?: unknown }
}

/**
 * The platforms `image` (`repo[:tag]`) can run on, asked of its registry with the updater's own
 * credentials (the pre-flight of DESIGN §8): the entries of its index or manifest list (attestation
 * entries, `unknown/unknown`, left out), or its config's os/architecture. Never throws; never puts a
 * URL or a credential into what it returns.
 */
export async function imagePlatforms (image: string, options: SessionOptions & { timeoutMs?: number }): Promise<ImagePlatforms> {
  const timeoutMs = options.timeoutMs ?? 5000
  try {
    const session = new RegistrySession(targetOf(image), options, AbortSignal.timeout(timeoutMs))
    const response = await session.request('GET', `/v2/${session.target.path}/manifests/${session.target.tag}`, accept)
    if (!response.ok) {
      await response.body?.cancel()
      return { unavailable: `the registry answered ${response.status} for the image's manifest` }
    }
    const manifest = parse(await readLimited(response, manifestLimit))
    const type = manifest.mediaType ?? response.headers.get('content-type') ?? ''
    if (indexTypes.includes(type) || Array.isArray(manifest.manifests)) {
      const platforms = (manifest.manifests ?? []).flatMap(({ platform }) => {
        if (typeof platform?.os !== 'string' || typeof platform.architecture !== 'string') return []
        if (platform.os === 'unknown' || platform.architecture === 'unknown') return []
        return [{ os: platform.os, architecture: platform.architecture, ...(typeof platform.variant === 'string' && { variant: platform.variant }) }]
      })
      return platforms.length > 0 ? { platforms } : { unavailable: 'the image index names no platform' }
    }
    const digest = manifest.config?.digest
    if (typeof digest !== 'string' || !digestPattern.test(digest)) return { unavailable: 'the image manifest names no config' }
    const blob = await session.request('GET', `/v2/${session.target.path}/blobs/${digest}`, 'application/json, */*')
    if (!blob.ok) {
      await blob.body?.cancel()
      return { unavailable: `the registry answered ${blob.status} for the image's config` }
    }
    const config = parse(await readLimited(blob, configLimit)) as { os?: unknown, architecture?: unknown, variant?: unknown }
    if (typeof config.os !== 'string' || typeof config.architecture !== 'string') return { unavailable: 'the image config names no platform' }
    return { platforms: [{ os: config.os, architecture: config.architecture, ...(typeof config.variant === 'string' && { variant: config.variant }) }] }
  } catch (error) {
    return { unavailable: describeFailure(error, timeoutMs) }
  }
}

function parse (body: Buffer): Manifest {
  try {
    const value = JSON.parse(body.toString('utf8')) as unknown
    if (value !== null && typeof value === 'object') return value as Manifest
  } catch {}
  throw new Unavailable('the registry sent an unreadable manifest')
}
