import { readlinkSync } from 'node:fs'
import { getPriority, setPriority } from 'node:os'
import { parentPort, workerData } from 'node:worker_threads'
import { checkTagDigest } from './registry-digest.js'
import { registryHttp } from './registry-http.js'
import { TokenCache } from './registry-session.js'
import { listTags } from './registry-tags.js'
import type { RegistryCall, RegistryThreadOptions } from './registry-worker.js'

/**
 * The watcher's registry client in a thread of its own (started by ./registry-worker.ts): each
 * message is one digest check or one tag listing, answered with what `checkTagDigest` or `listTags`
 * return (plain data, never a credential); its connection pool, token cache, credential reads and
 * garbage are this thread's, not the event loop's that answers HTTP (issue #19). The updater ends
 * it with `terminate()`, which closes its connections at once.
 */
/** The nice value of this thread (Linux): below the HTTP thread's. */
export const THREAD_NICE = 10
const port = parentPort!
lowerPriority()
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

/**
 * Linux: this thread runs at nice 10, below the thread that answers HTTP, so that a watch cycle
 * yields the CPU to requests (the thread's own ID is in /proc/thread-self, and setpriority on a
 * thread ID applies to that thread only). Elsewhere, or where it is refused, it runs as it is.
 */
function lowerPriority (): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').at(-1))
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, Math.max(getPriority(tid), THREAD_NICE))
  } catch { /* not Linux, or not allowed: the default priority */ }
}
