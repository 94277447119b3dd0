// The dashboard (GET /ui): a browser module, no library. It signs in, learns what the token may do
// from GET /whoami, and wires the views (services-view.ts, history-view.ts, freezes-view.ts) and the
// live stream (live.ts). The token lives in sessionStorage and is only ever sent as a bearer header.
import { ApiError, api, explain, isMissingRoute, session, token, type Access } from './api.js'
import { $, say, setErrorHandler } from './dom.js'
import { applyRecord, applyWatch, loadServices } from './services-view.js'
import { loadHistory } from './history-view.js'
import { onFreezesChange } from './freezes-view.js'
import { follow, stopLive } from './live.js'

type View = 'services' | 'history'

function fail (error: unknown): void {
  say(explain(error), true)
  if (error instanceof ApiError && error.status === 401) signOut()
}

/** The `access` claim of the token's payload, for an updater without GET /whoami (display only). */
function claimedAccess (jwt: string): Access {
  try {
    const payload = JSON.parse(atob((jwt.split('.')[1] ?? '').replaceAll('-', '+').replaceAll('_', '/'))) as { access?: unknown }
    return payload.access === 'read' || payload.access === 'admin' ? payload.access : 'deploy'
  } catch {
    return 'read'
  }
}

async function learnAccess (): Promise<void> {
  try {
    const me = await api<{ subject: string | null, access: Access }>('/whoami')
    session.access = me.access
    session.subject = me.subject
  } catch (error) {
    if (!isMissingRoute(error)) throw error
    session.access = claimedAccess(token.get() ?? '')
    session.subject = null
  }
  $('who').textContent = `${session.subject ?? 'signed in'} · ${session.access} access${session.access === 'read' ? ' (no actions)' : ''}`
}

/** Docker's state, from /readyz: the page says so at once when it is down, before any action fails. */
async function checkDocker (): Promise<void> {
  const res = await fetch('/readyz').catch(() => undefined)
  const banner = $('docker')
  if (res === undefined || res.ok) { banner.hidden = true; return }
  const body = await res.json().catch(() => ({})) as { message?: string }
  banner.textContent = `Docker is unavailable: ${(body.message ?? res.statusText).replace(/^Docker is unavailable: /, '')}. Updates cannot start until it answers; history and watch state are still shown.`
  banner.hidden = false
}

function show (view: View): void {
  $('services').hidden = view !== 'services'
  $('history').hidden = view !== 'history'
  for (const b of document.querySelectorAll<HTMLButtonElement>('nav [data-view]')) b.setAttribute('aria-pressed', String(b.dataset.view === view))
  if (view === 'history') loadHistory().catch(fail)
}

function signOut (): void {
  token.clear()
  stopLive()
  $('nav').hidden = true
  $('services').hidden = true
  $('history').hidden = true
  $('docker').hidden = true
  $('signin').hidden = false
  $('token').focus()
}

async function signedIn (): Promise<void> {
  $('signin').hidden = true
  say('Signing in…')
  await learnAccess()
  $('nav').hidden = false
  show('services')
  await Promise.all([checkDocker(), loadServices()])
  follow({ onRecord: applyRecord, onWatch: applyWatch, onReset: loadServices, onRefused: fail }).catch(() => {})
}

setErrorHandler(fail)
onFreezesChange(loadServices)
$('signin').addEventListener('submit', (event) => {
  event.preventDefault()
  const input = $<HTMLInputElement>('token')
  token.set(input.value.trim())
  input.value = ''
  signedIn().catch(fail)
})
$('signout').addEventListener('click', () => { signOut(); say('Signed out.') })
for (const b of document.querySelectorAll<HTMLButtonElement>('nav [data-view]')) b.addEventListener('click', () => show(b.dataset.view as View))
if (token.get() !== null) signedIn().catch(fail)
else $('signin').hidden = false
