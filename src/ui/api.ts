// The dashboard's one door to the API: the token (sessionStorage only, sent as a bearer header,
// never in a URL or a cookie), the shapes it reads, and what an error means in words.

export interface UpdateRecord {
  updateId: string
  appName: string
  service: string
  status: string
  previousImage: string | null
  image: string | null
  targetImage?: string
  message?: string
  warning?: string
  startedAt: string
  finishedAt: string | null
  durationMs: number | null
  requestedBy?: string
  trigger?: string
  reason?: string
  action?: string
  heldUntil?: string
}

/** GET /watch's services (DESIGN §7); the fields after `state` may be absent on an older updater. */
export interface WatchService {
  service: string
  state: string
  image?: string
  watch?: string
  policy?: string
  schedule?: string
  minAge?: string | null
  current?: { tag: string | null, digest: string | null }
  available?: { image: string, tag: string, digest: string, firstSeenAt: string, eligibleAt: string } | null
  quarantined?: { digest: string, updateId: string, since: string } | null
  lastCheckedAt?: string | null
  nextCheckAt?: string | null
  message?: string
}

export interface Freeze { freezeId: string, services: string[], until: string, reason?: string }

export type Access = 'read' | 'deploy' | 'admin'
const RANK: Record<Access, number> = { read: 0, deploy: 1, admin: 2 }

const KEY = 'container-updater-token'
export const token = {
  get: (): string | null => sessionStorage.getItem(KEY),
  set: (value: string): void => { sessionStorage.setItem(KEY, value) },
  clear: (): void => { sessionStorage.removeItem(KEY) }
}

/** What GET /whoami said of the token: the buttons shown follow it (the API enforces it anyway). */
export const session: { access: Access, subject: string | null } = { access: 'read', subject: null }
export const may = (needed: Access): boolean => RANK[session.access] >= RANK[needed]

/** Records started from the page say so (docs/API.md, POST /update). */
export const FROM_UI = { 'x-container-updater-trigger': 'ui' }

export class ApiError extends Error {
  constructor (readonly status: number, message: string, readonly code?: string) { super(message) }
}

export async function api<T> (path: string, init: { method?: string, body?: unknown, headers?: Record<string, string> } = {}): Promise<T> {
  let res: Response
  try {
    res = await fetch(path, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${token.get() ?? ''}`,
        ...(init.body !== undefined && { 'content-type': 'application/json' }),
        ...init.headers
      },
      ...(init.body !== undefined && { body: JSON.stringify(init.body) })
    })
  } catch {
    throw new ApiError(0, 'The updater cannot be reached (network error).')
  }
  if (res.status === 204) return undefined as T
  const body = await res.json().catch(() => ({})) as { message?: string, code?: string }
  if (!res.ok) throw new ApiError(res.status, body.message ?? res.statusText, body.code)
  return body as T
}

/** The route is not on this updater (an older version): the page says so instead of failing. */
export const isMissingRoute = (error: unknown): boolean => error instanceof ApiError && error.status === 404 && error.code === 'CU_ROUTE_NOT_FOUND'

export function explain (error: unknown): string {
  if (!(error instanceof ApiError)) return `Something went wrong in the page: ${String(error)}`
  if (error.status === 0) return error.message
  if (error.status === 401) return 'Your token was refused (expired or invalid): sign in again with a new one.'
  // The server's 503 messages name their cause already ("Docker is unavailable: …", "The record store is unavailable: …").
  if (error.code === 'CU_STORE_UNAVAILABLE') return `${error.message} (no update can be recorded or read until it is fixed)`
  if (error.code === 'CU_ACCESS_DENIED' || error.status === 403) return `This token may not do that: ${error.message}`
  if (error.status === 503) return error.message
  if (error.status === 429) return `Too many refused sign-ins from this address: ${error.message}`
  if (error.status === 423) return `Refused for now: ${error.message}`
  if (isMissingRoute(error)) return `This updater does not offer that yet (${error.message}).`
  return `${error.status}: ${error.message}`
}
