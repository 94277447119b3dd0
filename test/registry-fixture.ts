import { mkdtemp, writeFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serveRegistry } from './registry-process.ts'
import { freePort, until } from './swarm-fixtures.ts'

/**
 * A second Debian `docker-registry` (CNCF Distribution 2.8) on its own loopback port, optionally
 * announcing pushes to a URL, as an operator would configure it; stopped when the test ends.
 * Loopback registries need no TLS (Docker treats 127.0.0.0/8 as insecure).
 */
export async function startRegistry (t: { after: (fn: () => Promise<unknown>) => void }, notify?: { url: string, token: string }): Promise<{ address: string, stop: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'cu-registry-'))
  const address = `127.0.0.1:${await freePort()}`
  await writeFile(join(dir, 'config.yml'), JSON.stringify({
    version: 0.1,
    log: { level: 'warn', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: join(dir, 'data') }, delete: { enabled: true } },
    http: { addr: address },
    ...(notify !== undefined && {
      notifications: {
        endpoints: [{ name: 'container-updater', url: notify.url, headers: { Authorization: [`Bearer ${notify.token}`] }, timeout: '2s', threshold: 3, backoff: '1s' }]
      }
    })
  }))
  const { stderr, stop } = serveRegistry(join(dir, 'config.yml'))
  t.after(async () => {
    await stop()
    await rm(dir, { recursive: true, force: true })
  })
  await until('the registry to answer', async () => {
    try {
      return (await fetch(`http://${address}/v2/`)).ok ? true : undefined
    } catch {
      return undefined
    }
  }, 30_000).catch((error: Error) => { throw new Error(`${error.message}; registry said: ${stderr()}`) })
  return { address, stop }
}
