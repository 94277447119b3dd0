import { after, before } from 'node:test'
import { once } from 'node:events'
import { createServer, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * A registry emulated on loopback for one test file (`handler` answers as the test needs), with an
 * empty Docker config for the updater's credentials: started in before(), closed in after().
 * `origin` (http://127.0.0.1:port) and `config` are set once it is listening.
 */
export function loopbackRegistry (handler: RequestListener): { origin: string, config: string } {
  const registry = { origin: '', config: '' }
  const server = createServer(handler)
  let dir = ''
  before(async () => {
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    registry.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    dir = await mkdtemp(join(tmpdir(), 'cu-registry-'))
    registry.config = join(dir, 'config.json')
    await writeFile(registry.config, '{}')
  })
  after(async () => {
    server.closeAllConnections()
    server.close()
    await rm(dir, { recursive: true, force: true })
  })
  return registry
}
