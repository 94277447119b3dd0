/**
 * A request URL as it may appear in a log line: the path only (query strings carry secrets), and
 * Docker Hub's webhook token replaced. Docker Hub signs nothing, so the token in
 * `/hooks/dockerhub/<token>` is the whole credential; it is redacted also in spellings the router
 * would refuse (`//hooks/…`, `%2F`, other case), since those requests are logged too.
 */
export function redactRequestUrl (url: string): string {
  const path = url.split(/[?#]/, 1)[0] ?? ''
  return path.replace(/(\/hooks(?:\/|%2f)+dockerhub)(?:\/|%2f)[\s\S]*$/i, '$1/[redacted]')
}
