import { budgetOf, describeFailure, isBackoffStatus, isValidRegistryTag, readLimited, RegistrySession, targetOf, Unavailable, type Budget, type RegistryResponse } from './registry-session.js'
import type { ResolveTagDigestOptions } from './registry-digest.js'

/**
 * A repository's tags, for the watcher's tag policies (DESIGN §7): `GET /v2/<name>/tags/list?n=…`,
 * following `Link: <…>; rel="next"` (distribution's pagination) on the same registry, at most
 * `maxPages` pages. Same session, credentials and token reuse as the digest checks.
 */
export type TagList = ({ tags: string[] } | { unavailable: string, backoff: boolean }) & { budget: Budget, requests: number, responses?: RegistryResponse[] }

export interface ListTagsOptions extends ResolveTagDigestOptions {
  /** page size asked for (`n`) */
  pageSize?: number
  maxPages?: number
}

const pageLimit = 4 * 1024 * 1024

/** The next page's path and query from a Link header, only when it stays on the registry's /v2/ tags path. */
export function nextLink (header: string | null, path: string): string | undefined {
  if (header === null) return undefined
  const match = /<([^>]{1,2048})>\s*;\s*rel="?next"?/i.exec(header)
  if (match === null) return undefined
  let url: URL
  try {
    url = new URL(match[1]!, 'http://registry.invalid')
  } catch {
    return undefined
  }
  // Relative links only (as distribution sends them): an absolute one could send our token elsewhere.
  if (url.origin !== 'http://registry.invalid' || url.pathname !== `/v2/${path}/tags/list`) return undefined
  return url.pathname + url.search
}

/** Every tag of `image`'s repository (its tag is ignored), or why they cannot be listed. Never throws. */
export async function listTags (image: string, options: ListTagsOptions): Promise<TagList> {
  const timeoutMs = options.timeoutMs ?? 5000
  const maxPages = options.maxPages ?? 20
  let requests = 0
  let budget: Budget = {}
  let session: RegistrySession | undefined
  try {
    const signal = AbortSignal.timeout(timeoutMs)
    session = new RegistrySession(targetOf(image), options, signal)
    const path = session.target.path
    let next: string | undefined = `/v2/${path}/tags/list?n=${options.pageSize ?? 1000}`
    const tags: string[] = []
    for (let page = 0; next !== undefined; page++) {
      if (page === maxPages) throw new Unavailable(`the registry lists more than ${maxPages} pages of tags`)
      requests++
      const response: Response = await session.request('GET', next, 'application/json')
      budget = budgetOf(response.headers)
      if (!response.ok) {
        await response.body?.cancel()
        const why = response.status === 404 ? 'the repository does not exist in the registry (404)' : `the registry answered ${response.status} to the tag listing`
        return { unavailable: why, backoff: isBackoffStatus(response.status), budget, requests, responses: session.responses }
      }
      let answer: { tags?: unknown }
      try {
        answer = JSON.parse((await readLimited(response, pageLimit)).toString('utf8')) as typeof answer
      } catch (error) {
        if (error instanceof Unavailable) throw error
        throw new Unavailable('the registry sent an unreadable tag listing')
      }
      // `tags` is null for a repository without tags; names outside Docker's grammar are skipped.
      if (Array.isArray(answer?.tags)) for (const tag of answer.tags) if (typeof tag === 'string' && isValidRegistryTag(tag)) tags.push(tag)
      next = nextLink(response.headers.get('link'), path)
    }
    return { tags, budget, requests, responses: session.responses }
  } catch (error) {
    return { unavailable: describeFailure(error, timeoutMs), backoff: !(error instanceof Unavailable), budget, requests, responses: session?.responses ?? [] }
  }
}
