/** The route whose last path segment is a credential (Docker Hub signs nothing). */
export const DOCKERHUB_HOOK_ROUTE = '/hooks/dockerhub/:token'

/**
 * A request URL as it may appear in a log line or an answer: the path only (query strings carry
 * secrets), and Docker Hub's webhook token replaced. When Fastify routed the request to the
 * Docker Hub hook (`route`, its pattern), the route decides, whatever the spelling of the path
 * (`/hooks/%64ockerhub/…`, `%68ooks`, an encoded token). A request it did not route (404, 414, a
 * refused body) is redacted on its decoded path, decoded again as long as that changes it, so a
 * spelling the router refuses (`//hooks/…`, `%2F`, `%2564`, other case) is redacted too.
 */
export function redactRequestUrl (url: string, route?: string): string {
  if (route === DOCKERHUB_HOOK_ROUTE) return '/hooks/dockerhub/[redacted]'
  let path = url.split(/[?#]/, 1)[0] ?? ''
  for (let i = 0; i < 4; i++) {
    const decoded = decodeOnce(path)
    if (decoded === path) break
    path = decoded
  }
  return path.replace(/(\/hooks\/+dockerhub)\/[\s\S]*$/i, '$1/[redacted]')
}

function decodeOnce (path: string): string {
  try {
    return decodeURIComponent(path)
  } catch {
    // A malformed escape elsewhere must not keep the rest encoded: decode what is well formed.
    return path.replace(/%[0-9a-f]{2}/gi, (escape) => String.fromCharCode(parseInt(escape.slice(1), 16)))
  }
}
