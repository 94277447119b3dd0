// Talking to the updater: the token (a given one, or a GitHub OIDC ID token), requests bounded in
// time, and polling that outlives the hiccups of a reverse proxy in front of the updater.
import { setTimeout as sleep } from 'node:timers/promises'
import { fail } from './report.mjs'

/** Answers a poll may get while the updater or its proxy restarts: try again. */
const TRANSIENT = new Set([429, 502, 503, 504])
/** One request never waits longer than this, so a hung connection cannot eat the whole timeout. */
const REQUEST_TIMEOUT_MS = 60_000

/** The bearer token: the `token` input, or a GitHub ID token for `audience` (refreshable). */
export function tokenSource ({ token, audience }) {
  let current = token
  const oidc = !token && Boolean(audience)
  return {
    oidc,
    async get () {
      current ||= oidc ? await idToken(audience) : ''
      if (!current) fail('pass `token`, or `audience` to use an OIDC token')
      return current
    },
    /** GitHub's ID tokens are short-lived: a long rollout may outlast one. */
    async refresh () {
      if (!oidc) return false
      current = await idToken(audience)
      return true
    }
  }
}

async function idToken (audience) {
  const { ACTIONS_ID_TOKEN_REQUEST_URL: url, ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken } = process.env
  if (!url || !requestToken) fail('no OIDC token available: give the job `permissions: id-token: write`, or pass `token`')
  let res
  try {
    res = await fetch(`${url}&audience=${encodeURIComponent(audience)}`, { headers: { authorization: `Bearer ${requestToken}` }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
  } catch (error) {
    fail(`the OIDC token request failed: ${error.cause?.code ?? error.message}`)
  }
  if (!res.ok) fail(`the OIDC token request failed with ${res.status}`)
  const { value } = await res.json().catch(() => ({}))
  if (typeof value !== 'string' || value === '') fail('the OIDC token response has no token')
  console.log(`::add-mask::${value}`)
  return value
}

/**
 * One request; resolves to `{ status, body, text }` (body: parsed JSON or undefined), or rejects
 * with the network error.
 */
export async function request (url, { method = 'GET', token, body, timeoutMs = REQUEST_TIMEOUT_MS }) {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(Math.max(1, Math.min(timeoutMs, REQUEST_TIMEOUT_MS)))
  })
  const text = await res.text()
  let parsed
  try {
    parsed = JSON.parse(text)
  } catch {}
  return { status: res.status, body: parsed, text }
}

/** Where a statusUrl (a path under the updater, or a whole URL) points. */
export function resolveStatusUrl (base, statusUrl) {
  return /^https?:\/\//i.test(statusUrl) ? statusUrl : `${base}${statusUrl.startsWith('/') ? '' : '/'}${statusUrl}`
}

/**
 * GETs `url` every `intervalMs` until `isDone(body)` or `deadline` (epoch ms). Network errors,
 * 429/502/503/504 and unreadable bodies are retried (a proxy restarting, a rolling update of the
 * updater itself); a 401 is retried once with a fresh OIDC token; any other answer fails the step.
 * Resolves to the last body, and whether it is done.
 */
export async function poll (url, { tokens, intervalMs, deadline, isDone, onProgress }) {
  let last
  let refreshed = false
  while (true) {
    const remaining = deadline - Date.now()
    if (remaining <= 0) return { body: last, done: false }
    await sleep(Math.min(intervalMs, remaining))
    let res
    try {
      res = await request(url, { token: await tokens.get(), timeoutMs: deadline - Date.now() })
    } catch (error) {
      console.log(`poll: ${error.cause?.code ?? error.name ?? error.message}; trying again`)
      continue
    }
    if (res.status === 401 && !refreshed && await tokens.refresh()) {
      refreshed = true
      continue
    }
    if (TRANSIENT.has(res.status) || (res.status === 200 && res.body === undefined)) {
      console.log(`poll: ${res.status} from ${url}; trying again`)
      continue
    }
    if (res.status !== 200) fail(`${res.status} while polling ${url}: ${res.body?.message ?? res.text.slice(0, 500)}`)
    refreshed = false
    last = res.body
    onProgress?.(last)
    if (isDone(last)) return { body: last, done: true }
  }
}
