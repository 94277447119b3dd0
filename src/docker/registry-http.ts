import { Agent, fetch as undiciFetch, type Dispatcher } from 'undici'

/**
 * The watcher's HTTP transport to registries (SessionOptions.fetch): fetch over a connection pool
 * that keeps a connection open after a HEAD. Node's own fetch closes it after every HEAD (undici's
 * guard against servers that send a body to a HEAD; registries do not), so each HEAD of a watch
 * cycle, one per repo:tag, opened a new connection, a TLS handshake with a real registry, and built
 * the error object that closed it: about a millisecond of the event loop per HEAD here, the largest
 * cost of a cycle once the store's was gone (issue #19, bench/figures/watch.ts). Everything else is
 * fetch as before: the same pool rules (4 s idle keep-alive), redirects, abort signals. The
 * `undici` package is at major 6, the one Node 20 bundles (7 needs Node ≥ 20.18.1); on Node 24 it
 * is a pool of its own beside Node's.
 *
 * Outbound proxies: with Node's own switch NODE_USE_ENV_PROXY=1 (Node 24), Node's `fetch` goes
 * through HTTP_PROXY / HTTPS_PROXY / NO_PROXY, and so do the pre-flight's GETs. The watcher then
 * uses Node's `fetch` too, through the same proxy, and gives up the kept connections of its HEADs.
 * Without it (and on Node 20, whose `fetch` knows no proxy) no request of the updater uses one.
 */
export interface RegistryHttp {
  fetch: typeof fetch
  /** Closes the pool's connections at once. The updater ends the registry thread instead (terminate), which does the same. */
  close: () => Promise<void>
}

class KeepAliveAfterHead extends Agent {
  override dispatch (options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandlers): boolean {
    return super.dispatch(options.method === 'HEAD' ? { ...options, reset: false } : options, handler)
  }
}

export function registryHttp (env: NodeJS.ProcessEnv = process.env): RegistryHttp {
  // The thread that runs it is terminated at close, which ends whatever Node's fetch still holds.
  if (env.NODE_USE_ENV_PROXY === '1') return { fetch: globalThis.fetch, close: async () => {} }
  const dispatcher = new KeepAliveAfterHead()
  // undici's own fetch with its own pool: the types are undici's, the same shapes as the global ones.
  const fetchOverPool = async (input: string | URL | Request, init?: RequestInit): Promise<Response> =>
    await (undiciFetch as unknown as (input: string | URL | Request, init: RequestInit & { dispatcher: Dispatcher }) => Promise<Response>)(input, { ...init, dispatcher })
  return { fetch: fetchOverPool as typeof fetch, close: async () => { await dispatcher.destroy() } }
}
