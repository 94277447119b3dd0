// The history view: GET /updates with filters (service, status, since) and paging by cursor, a
// record's detail, and the charts of the first page.
import { api, type UpdateRecord } from './api.js'
import { $, button, cell, reportError, say, seconds, stateCell, when } from './dom.js'
import { renderCharts } from './chart.js'

let cursor: string | null = null

export async function loadHistory (more = false): Promise<void> {
  const q = new URLSearchParams({ limit: '50' })
  const service = $<HTMLInputElement>('f-service').value.trim()
  const status = $<HTMLSelectElement>('f-status').value
  const since = $<HTMLInputElement>('f-since').value
  if (service !== '') q.set('service', service)
  if (status !== '') q.set('status', status)
  if (since !== '') q.set('since', new Date(`${since}T00:00:00Z`).toISOString())
  if (more && cursor !== null) q.set('cursor', cursor)
  say('Loading history…')
  const page = await api<{ updates: UpdateRecord[], nextCursor: string | null }>(`/updates?${q.toString()}`)
  if (!more) { $('history-rows').replaceChildren(); $('detail').hidden = true }
  cursor = page.nextCursor
  for (const r of page.updates) row(r)
  if (!more) renderCharts($('chart'), page.updates)
  $('more').hidden = cursor === null
  say(page.updates.length === 0 && !more ? 'No update matches these filters.' : '')
}

function row (record: UpdateRecord): void {
  const tr = $<HTMLTableSectionElement>('history-rows').insertRow()
  tr.dataset.update = record.updateId
  cell(tr, 'Started', when(record.startedAt))
  cell(tr, 'Service', record.service)
  stateCell(tr, 'Status', record.status)
  cell(tr, 'Trigger', `${record.action === 'rollback' ? 'rollback, ' : ''}${record.trigger ?? '–'}`)
  cell(tr, 'Duration', seconds(record.durationMs))
  const td = tr.insertCell()
  td.dataset.label = 'Detail'
  td.append(button('Details', async () => { showDetail(record) }, `${record.service}, ${when(record.startedAt)}`))
}

const digestOf = (image: string | null): string => image === null ? '–' : (image.split('@')[1] ?? `${image} (no digest)`)

function showDetail (record: UpdateRecord): void {
  const dl = $('detail')
  dl.replaceChildren()
  const fields: Array<[string, string]> = [
    ['Update', record.updateId],
    ['Service', record.service],
    ['Status', record.status.replaceAll('_', ' ')],
    ['Action', record.action ?? 'update'],
    ['From', `${record.previousImage ?? '–'}`],
    ['To', `${record.image ?? record.targetImage ?? '–'}`],
    ['Digest', `${digestOf(record.previousImage)} → ${digestOf(record.image)}`],
    ['Who', record.requestedBy ?? '–'],
    ['Trigger', record.trigger ?? '–'],
    ['Reason', record.reason ?? '–'],
    ["Docker's reason", record.message ?? '–'],
    ['Started', when(record.startedAt)],
    ['Finished', when(record.finishedAt)],
    ['Duration', seconds(record.durationMs)]
  ]
  if (record.heldUntil !== undefined) fields.push(['Held until', when(record.heldUntil)])
  if (record.warning !== undefined) fields.push(['Warning', record.warning])
  for (const [k, v] of fields) {
    const dt = document.createElement('dt'); dt.textContent = k
    const dd = document.createElement('dd'); dd.textContent = v
    dl.append(dt, dd)
  }
  dl.hidden = false
  dl.focus()
}

$('filters').addEventListener('submit', (event) => { event.preventDefault(); loadHistory().catch(reportError) })
$('more').addEventListener('click', () => { loadHistory(true).catch(reportError) })
