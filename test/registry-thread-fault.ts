import { parentPort } from 'node:worker_threads'
import type { RegistryCall } from '../src/docker/registry-worker.ts'

/**
 * A registry thread that fails on demand (test/unit/registry-worker.test.ts): an image tagged
 * `crash` throws in the thread, `silent` is never answered, any other gets a fixed digest.
 */
parentPort!.on('message', (call: RegistryCall) => {
  if (call.image.endsWith(':crash')) throw new Error('the thread crashed')
  if (call.image.endsWith(':silent')) return
  parentPort!.postMessage({ id: call.id, result: { digest: 'sha256:' + 'd'.repeat(64), budget: {}, responses: [] } })
})
