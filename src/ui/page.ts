// The dashboard (GET /ui): a browser module, no library. The token lives in sessionStorage and is
// only ever sent as an Authorization header: never in a URL, a cookie or the page.

interface UpdateRecord {
  updateId: string
  appName: string
  service: string
  status: string
  previousImage: string | null
  image: string | null
  message: string
  startedAt: string
  finishedAt: string | null
  durationMs: number | null
  requestedBy?: string
  trigger?: string
}

const KEY = 'container-updater-token'
const MARKS: Record<string, string> = { completed: '✓', rolled_back: '↶', failed: '✗', updating: '…', queued: '…', timeout: '⧗', paused: '‖', superseded: '→', cancelled: '–' }
const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T
const services = new Map<string, UpdateRecord>()
let cursor: string | null = null
let streamAbort: AbortController | undefined
let hasRollback = true

function say (text: string, error = false): void {
  const status = $('status')
  status.textContent = text
  status.className = error ? 'error' : ''
}

class ApiError extends Error {
  constructor (readonly status: number, message: string, readonly code?: string) { super(message) }
}

async function api<T> (path: string, init: { method?: string, body?: unknown } = {}): Promise<T> {
  const token = sessionStorage.getItem(KEY) ?? ''
  let res: Response
  try {
    res = await fetch(path, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${token}`, ...(init.body !== undefined && { 'content-type': 'application/json' }) },
      ...(init.body !== undefined && { body: JSON.stringify(init.body) })
    })
  } catch {
    throw new ApiError(0, 'The updater cannot be reached.')
  }
  const body = await res.json().catch(() => ({})) as { message?: string, code?: string }
  if (!res.ok) throw new ApiError(res.status, body.message ?? res.statusText, body.code)
  return body as T
}

function explain (error: unknown): string {
  if (!(error instanceof ApiError)) return String(error)
  if (error.status === 401) return 'Your token was refused (expired or invalid): sign in again.'
  if (error.code === 'CU_STORE_UNAVAILABLE') return `The record store is unavailable: ${error.message}`
  if (error.status === 503) return `Docker is unavailable: ${error.message}`
  if (error.status === 403) return `This token may not do that: ${error.message}`
  return `${error.status} ${error.message}`
}

function fail (error: unknown): void {
  say(explain(error), true)
  if (error instanceof ApiError && error.status === 401) signOut()
}

function cell (row: HTMLTableRowElement, text: string, className?: string): HTMLTableCellElement {
  const td = row.insertCell()
  td.textContent = text
  if (className !== undefined) td.className = className
  return td
}

function stateCell (row: HTMLTableRowElement, status: string): void {
  const td = cell(row, status, 'state')
  td.dataset.mark = MARKS[status] ?? ''
}

function button (label: string, action: () => Promise<void>): HTMLButtonElement {
  const b = document.createElement('button')
  b.type = 'button'
  b.textContent = label
  b.addEventListener('click', () => { action().catch(fail) })
  return b
}

function renderServices (): void {
  const rows = $('services-rows')
  rows.replaceChildren()
  if (services.size === 0) {
    const row = (rows as HTMLTableSectionElement).insertRow()
    cell(row, 'No updates yet for the services this token may see. Update one through POST /update, or wait for a push.').colSpan = 4
    return
  }
  for (const record of [...services.values()].sort((a, b) => a.service.localeCompare(b.service))) {
    const row = (rows as HTMLTableSectionElement).insertRow()
    row.dataset.service = record.service
    cell(row, record.service)
    cell(row, record.image ?? record.previousImage ?? '', 'image')
    stateCell(row, record.status)
    const actions = row.insertCell()
    actions.append(
      button('Update now', async () => { await update(record.appName, false) }),
      button('Dry run', async () => { await update(record.appName, true) })
    )
    if (hasRollback) actions.append(button('Roll back', async () => { await rollback(record.appName) }))
  }
}

async function update (appName: string, dryRun: boolean): Promise<void> {
  say(dryRun ? `Planning ${appName}…` : `Updating ${appName}…`)
  const answer = await api<unknown>('/update', { method: 'POST', body: dryRun ? { appName, dryRun: true } : { appName, wait: false } })
  if (dryRun) {
    const plan = $('plan')
    plan.hidden = false
    plan.textContent = `Dry run of ${appName}:\n${JSON.stringify(answer, null, 2)}`
    plan.focus()
  }
  say(dryRun ? `Dry run of ${appName} done.` : `Update of ${appName} started; this page follows it live.`)
}

async function rollback (appName: string): Promise<void> {
  try {
    await api('/rollback', { method: 'POST', body: { appName } })
    say(`Rollback of ${appName} requested.`)
  } catch (error) {
    if (error instanceof ApiError && error.code === 'CU_ROUTE_NOT_FOUND') {
      hasRollback = false
      renderServices()
      say('This updater has no rollback.')
      return
    }
    throw error
  }
}

async function loadServices (): Promise<void> {
  say('Loading services…')
  const watch = await api<{ services?: Array<{ service: string, image?: string }> }>('/watch').catch(() => undefined)
  const page = await api<{ updates: UpdateRecord[] }>('/updates')
  for (const record of page.updates) if (!services.has(record.service)) services.set(record.service, record)
  for (const s of watch?.services ?? []) {
    if (!services.has(s.service)) services.set(s.service, { updateId: '', appName: s.service, service: s.service, status: 'watched', previousImage: null, image: s.image ?? null, message: '', startedAt: '', finishedAt: null, durationMs: null })
  }
  renderServices()
  say('')
}

function historyRow (record: UpdateRecord): void {
  const row = ($('history-rows') as HTMLTableSectionElement).insertRow()
  cell(row, record.startedAt.replace('T', ' ').slice(0, 19))
  cell(row, record.service)
  stateCell(row, record.status)
  cell(row, record.durationMs === null ? '' : `${(record.durationMs / 1000).toFixed(1)} s`)
  row.insertCell().append(button('Details', async () => { showDetail(record) }))
}

function showDetail (record: UpdateRecord): void {
  const dl = $('detail')
  dl.replaceChildren()
  const fields: Array<[string, string]> = [
    ['Update', record.updateId], ['Service', record.service], ['Status', record.status], ['From', record.previousImage ?? '–'],
    ['To', record.image ?? '–'], ['Who', record.requestedBy ?? '–'], ['Trigger', record.trigger ?? '–'], ['Reason', record.message || '–'],
    ['Duration', record.durationMs === null ? '–' : `${record.durationMs} ms`]
  ]
  for (const [k, v] of fields) {
    const dt = document.createElement('dt'); dt.textContent = k
    const dd = document.createElement('dd'); dd.textContent = v
    dl.append(dt, dd)
  }
  dl.hidden = false
  dl.focus()
}

const SVG = 'http://www.w3.org/2000/svg'
function svg (name: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const el = document.createElementNS(SVG, name)
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v))
  if (text !== undefined) el.textContent = text
  return el
}

/** Updates per day by outcome: stacked bars, each part labelled by its mark and count (not colour alone). */
function renderChart (records: UpdateRecord[]): void {
  const days = new Map<string, Map<string, number>>()
  for (const r of records) {
    const day = r.startedAt.slice(0, 10)
    const counts = days.get(day) ?? new Map<string, number>()
    counts.set(r.status, (counts.get(r.status) ?? 0) + 1)
    days.set(day, counts)
  }
  const figure = $('chart')
  figure.replaceChildren()
  if (days.size === 0) return
  const sorted = [...days.entries()].sort(([a], [b]) => a.localeCompare(b)).slice(-14)
  const max = Math.max(...sorted.map(([, c]) => [...c.values()].reduce((a, b) => a + b, 0)))
  const width = Math.max(60 * sorted.length + 20, 200)
  const chart = svg('svg', { viewBox: `0 0 ${width} 200`, width, height: 200, role: 'img', 'aria-labelledby': 'chart-title' })
  chart.append(svg('title', { id: 'chart-title' }, 'Updates per day by outcome'))
  const fills: Record<string, string> = { completed: '#2a7', failed: '#c33', rolled_back: '#d90' }
  sorted.forEach(([day, counts], i) => {
    let y = 170
    for (const [status, n] of counts) {
      const h = (n / max) * 140
      y -= h
      chart.append(svg('rect', { x: 10 + i * 60, y, width: 40, height: h, fill: fills[status] ?? '#778', stroke: '#000' }))
      chart.append(svg('text', { x: 14 + i * 60, y: y + Math.min(h, 14) - 2 }, `${MARKS[status] ?? ''}${n}`))
    }
    chart.append(svg('text', { x: 8 + i * 60, y: 188 }, day.slice(5)))
  })
  const durations = records.filter((r) => r.durationMs !== null).map((r) => r.durationMs as number)
  const caption = document.createElement('figcaption')
  caption.textContent = `Updates per day (✓ completed, ✗ failed, ↶ rolled back). Durations: ${durations.length === 0 ? 'none finished' : `median ${(durations.sort((a, b) => a - b)[Math.floor(durations.length / 2)]! / 1000).toFixed(1)} s, longest ${(Math.max(...durations) / 1000).toFixed(1)} s`}.`
  figure.append(chart, caption)
}

async function loadHistory (more = false): Promise<void> {
  if (!more) { cursor = null; $('history-rows').replaceChildren() }
  const q = new URLSearchParams()
  const service = ($('f-service') as HTMLInputElement).value.trim()
  const status = ($('f-status') as HTMLSelectElement).value
  if (service !== '') q.set('service', service)
  if (status !== '') q.set('status', status)
  if (more && cursor !== null) q.set('cursor', cursor)
  say('Loading history…')
  const page = await api<{ updates: UpdateRecord[], nextCursor: string | null }>(`/updates?${q.toString()}`)
  cursor = page.nextCursor
  for (const r of page.updates) historyRow(r)
  if (!more) renderChart(page.updates)
  $('more').hidden = cursor === null
  say(page.updates.length === 0 && !more ? 'No updates match.' : '')
}

/** GET /events through fetch (EventSource cannot send a header), reconnecting with Last-Event-ID. */
async function follow (): Promise<void> {
  let lastId: string | undefined
  for (;;) {
    streamAbort = new AbortController()
    try {
      const res = await fetch('/events', { headers: { authorization: `Bearer ${sessionStorage.getItem(KEY) ?? ''}`, ...(lastId !== undefined && { 'last-event-id': lastId }) }, signal: streamAbort.signal })
      if (res.status === 401) { fail(new ApiError(401, 'refused')); return }
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
      let rest = ''
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        const frames = (rest + value).split('\n\n')
        rest = frames.pop() ?? ''
        for (const frame of frames) {
          let event = ''; let data = ''
          for (const line of frame.split('\n')) {
            if (line.startsWith('id: ')) lastId = line.slice(4)
            else if (line.startsWith('event: ')) event = line.slice(7)
            else if (line.startsWith('data: ')) data = line.slice(6)
          }
          if (event === 'record') {
            const record = JSON.parse(data) as UpdateRecord
            services.set(record.service, record)
            renderServices()
          } else if (event === 'reset') {
            await loadServices()
          }
        }
      }
    } catch (error) {
      if (streamAbort.signal.aborted) return
    }
    await new Promise((resolve) => setTimeout(resolve, 3000))
  }
}

function show (view: 'services' | 'history'): void {
  $('services').hidden = view !== 'services'
  $('history').hidden = view !== 'history'
  for (const b of document.querySelectorAll<HTMLButtonElement>('nav [data-view]')) b.setAttribute('aria-pressed', String(b.dataset.view === view))
  if (view === 'history') loadHistory().catch(fail)
}

function signOut (): void {
  sessionStorage.removeItem(KEY)
  streamAbort?.abort()
  $('nav').hidden = true
  $('services').hidden = true
  $('history').hidden = true
  $('signin').hidden = false
}

function signedIn (): void {
  $('signin').hidden = true
  $('nav').hidden = false
  show('services')
  loadServices().catch(fail)
  follow().catch(() => {})
}

$('signin').addEventListener('submit', (event) => {
  event.preventDefault()
  const input = $('token') as HTMLInputElement
  sessionStorage.setItem(KEY, input.value.trim())
  input.value = ''
  signedIn()
})
$('signout').addEventListener('click', () => { signOut(); say('Signed out.') })
for (const b of document.querySelectorAll<HTMLButtonElement>('nav [data-view]')) b.addEventListener('click', () => show(b.dataset.view as 'services' | 'history'))
$('filters').addEventListener('submit', (event) => { event.preventDefault(); loadHistory().catch(fail) })
$('more').addEventListener('click', () => { loadHistory(true).catch(fail) })
if (sessionStorage.getItem(KEY) !== null) signedIn()
else $('signin').hidden = false
