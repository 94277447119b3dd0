import { createHash } from 'node:crypto'
import { gzipSync } from 'node:zlib'

/**
 * Pushes, through the registry's HTTP API (Distribution's), an image index (OCI) whose entries are
 * tiny images of the given platforms only: what a tag looks like after a build dropped the nodes'
 * architecture. Returns the index's digest. For the pre-flight tests (docs/API.md, "Pre-flight").
 */
export interface Platform { os: string, architecture: string }

const sha256 = (body: Buffer): string => `sha256:${createHash('sha256').update(body).digest('hex')}`

async function putBlob (base: string, repo: string, body: Buffer, authorization?: string): Promise<string> {
  const digest = sha256(body)
  const headers: Record<string, string> = authorization !== undefined ? { authorization } : {}
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers })
  if (start.status !== 202) throw new Error(`blob upload start: ${start.status} ${await start.text()}`)
  const location = new URL(start.headers.get('location')!, base)
  location.searchParams.set('digest', digest)
  const put = await fetch(location, { method: 'PUT', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: new Uint8Array(body) })
  if (put.status !== 201) throw new Error(`blob upload: ${put.status} ${await put.text()}`)
  return digest
}

async function putManifest (base: string, repo: string, reference: string, mediaType: string, manifest: unknown, authorization?: string): Promise<{ digest: string, size: number }> {
  const body = Buffer.from(JSON.stringify(manifest))
  const put = await fetch(`${base}/v2/${repo}/manifests/${reference}`, { method: 'PUT', headers: { 'content-type': mediaType, ...(authorization !== undefined && { authorization }) }, body: new Uint8Array(body) })
  if (put.status !== 201) throw new Error(`manifest upload: ${put.status} ${await put.text()}`)
  return { digest: sha256(body), size: body.length }
}

/** `base`: `http://host:port`. The index is tagged `tag`; its images are pushed by digest only. */
export async function pushPlatformIndex (base: string, repo: string, tag: string, platforms: readonly Platform[], authorization?: string): Promise<string> {
  // One empty layer (a gzipped empty tar), shared by every platform's image.
  const layer = gzipSync(Buffer.alloc(1024))
  const layerDigest = await putBlob(base, repo, layer, authorization)
  const diffId = sha256(Buffer.alloc(1024))
  const entries = []
  for (const platform of platforms) {
    const config = Buffer.from(JSON.stringify({ ...platform, config: { Cmd: ['/bin/app'] }, rootfs: { type: 'layers', diff_ids: [diffId] } }))
    const configDigest = await putBlob(base, repo, config, authorization)
    const mediaType = 'application/vnd.oci.image.manifest.v1+json'
    const manifest = {
      schemaVersion: 2,
      mediaType,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.length }]
    }
    const { digest, size } = await putManifest(base, repo, sha256(Buffer.from(JSON.stringify(manifest))), mediaType, manifest, authorization)
    entries.push({ mediaType, digest, size, platform })
  }
  const indexType = 'application/vnd.oci.image.index.v1+json'
  return (await putManifest(base, repo, tag, indexType, { schemaVersion: 2, mediaType: indexType, manifests: entries }, authorization)).digest
}
