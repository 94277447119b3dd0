/** The route whose last path segment is a credential (Docker Hub signs nothing). */
export const DOCKERHUB_HOOK_ROUTE = '/hooks/dockerhub/:token'
/** Quay's webhook neither signs nor sends configured headers: its path ends in a credential too. */
export const QUAY_HOOK_ROUTE = '/hooks/quay/:token'
const TOKEN_ROUTES = new Set([DOCKERHUB_HOOK_ROUTE, QUAY_HOOK_ROUTE])

/**
 * A request URL as it may appear in a log line or an answer: the path only (query strings carry
 * secrets), and Docker Hub's webhook token (and Quay's) replaced. When Fastify routed the request to the
 * Docker Hub or Quay hook (`route`, its pattern), the route decides, whatever the spelling of the path
 * (`/hooks/%64ockerhub/…`, `%68ooks`, an encoded token). A request it did not route (404, 414, a
 * refused body) is redacted on its decoded path, decoded again as long as that changes it, so a
 * spelling the router refuses (`//hooks/…`, `%2F`, `%2564`, other case) is redacted too.
 */
export function redactRequestUrl (url: string, route?: string): string {
  if (route !== undefined && TOKEN_ROUTES.has(route)) return route.replace(':token', '[redacted]')
  let path = url.split(/[?#]/, 1)[0] ?? ''
  for (let i = 0; i < 4; i++) {
    const decoded = decodeOnce(path)
    if (decoded === path) break
    path = decoded
  }
  return path.replace(/(\/hooks\/+(?:dockerhub|quay))\/[\s\S]*$/i, '$1/[redacted]')
}

function decodeOnce (path: string): string {
  try {
    return decodeURIComponent(path)
  } catch {
    // A malformed escape elsewhere must not keep the rest encoded: decode what is well formed.
    return path.replace(/%[0-9a-f]{2}/gi, (escape) => String.fromCharCode(parseInt(escape.slice(1), 16)))
  }
}
