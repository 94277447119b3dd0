import { parentPort, workerData } from 'node:worker_threads'
import { checkTagDigest } from './registry-digest.js'
import { registryHttp } from './registry-http.js'
import { TokenCache } from './registry-session.js'
import { listTags } from './registry-tags.js'
import type { RegistryCall, RegistryThreadOptions } from './registry-worker.js'

/**
 * The watcher's registry client in a thread of its own (started by ./registry-worker.ts): each
 * message is one digest check or one tag listing, answered with what `checkTagDigest` or `listTags`
 * return (plain data, never a credential). Its connection pool, token cache and garbage are this
 * thread's, not the event loop's that answers HTTP (issue #19); file reads and DNS lookups still
 * go through the process's shared libuv pool. The updater ends it with `terminate()`, which closes
 * its connections at once.
 */
const port = parentPort!
const { dockerConfigPath, timeoutMs } = workerData as RegistryThreadOptions
const http = registryHttp()
const options = { dockerConfigPath, timeoutMs, tokens: new TokenCache(), fetch: http.fetch }

port.on('message', (call: RegistryCall) => {
  const answer = call.op === 'digest' ? checkTagDigest(call.image, options) : listTags(call.image, options)
  // Both never throw; a failure of this thread's own making is answered all the same.
  answer.then(
    (result) => port.postMessage({ id: call.id, result }),
    (error: unknown) => port.postMessage({ id: call.id, failure: (error as Error).message })
  )
})
