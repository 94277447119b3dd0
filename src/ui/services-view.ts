// The services view: every service in the token's scope (GET /watch's watched services, and every
// service with a record), its watch state, available update, policy, gates and quarantine, and the
// actions the token may take. One load is four requests, whatever the number of services.
import { api, explain, FROM_UI, isMissingRoute, may, type UpdateRecord, type WatchService } from './api.js'
import { $, button, cell, reportError, say, stateCell } from './dom.js'
import { freezesOf, loadFreezes } from './freezes-view.js'

const latest = new Map<string, UpdateRecord>()
const watched = new Map<string, WatchService>()
const pending = new Map<string, UpdateRecord>()
const notes: string[] = []

/** A record the stream or an action brought: the row follows it without a reload. */
export function applyRecord (record: UpdateRecord): void {
  const known = latest.get(record.service)
  if (known === undefined || known.updateId === record.updateId || record.startedAt >= known.startedAt) latest.set(record.service, record)
  if (record.status === 'pending_approval') pending.set(record.updateId, record)
  else pending.delete(record.updateId)
  render()
}

/** A service's watch state changed (an `event: watch` of the stream). */
export function applyWatch (view: WatchService): void {
  if (typeof view.service !== 'string' || typeof view.state !== 'string') return
  watched.set(view.service, view)
  render()
}

export async function loadServices (): Promise<void> {
  say('Loading services…')
  notes.length = 0
  const [watch, recent, approvals] = await Promise.all([
    api<{ services: WatchService[] }>('/watch').catch((error: unknown) => { notes.push(`Watch state unavailable: ${explain(error)}`); return { services: [] } }),
    api<{ updates: UpdateRecord[] }>('/updates?limit=100'),
    api<{ updates: UpdateRecord[] }>('/updates?status=pending_approval&limit=100').catch(() => ({ updates: [] })),
    loadFreezes().catch((error: unknown) => { notes.push(isMissingRoute(error) ? 'Freezes: this updater has none (GET /freezes not found).' : `Freezes unavailable: ${explain(error)}`) })
  ])
  latest.clear(); watched.clear(); pending.clear()
  for (const s of watch.services) watched.set(s.service, s)
  for (const r of recent.updates) if (!latest.has(r.service)) latest.set(r.service, r)
  for (const r of approvals.updates) pending.set(r.updateId, r)
  render()
  say('')
}

const imageOf = (name: string): string => {
  const w = watched.get(name)
  const r = latest.get(name)
  if (r?.image != null) return r.image
  if (w?.image !== undefined) return w.image
  if (w?.current !== undefined) return `${w.current.tag === null ? '' : `:${w.current.tag}`}${w.current.digest === null ? '' : `@${w.current.digest}`}` || '–'
  return r?.previousImage ?? '–'
}

function gates (name: string, w: WatchService | undefined, r: UpdateRecord | undefined): string {
  const parts: string[] = []
  for (const f of freezesOf(name)) parts.push(`frozen until ${f.until.slice(0, 16).replace('T', ' ')}${f.reason === undefined ? '' : ` (${f.reason})`}`)
  if (r?.status === 'held') parts.push(`held until ${r.heldUntil?.slice(0, 16).replace('T', ' ') ?? '?'}${r.message === undefined ? '' : `: ${r.message}`}`)
  if ([...pending.values()].some((p) => p.service === name)) parts.push('waiting for approval')
  if (w?.minAge != null && w.minAge !== '' && w.minAge !== '0s') parts.push(`min age ${w.minAge}`)
  return parts.join('; ') || '–'
}

const ENDED = ['completed', 'superseded', 'rejected', 'expired', 'cancelled']

/**
 * The row's state: the latest record's while it runs, or when it ended after the watcher's last
 * check (the record is the newer news: "completed", "rejected"); otherwise the watch state.
 */
function stateOf (w: WatchService | undefined, r: UpdateRecord | undefined): string {
  if (r === undefined) return w?.state ?? '–'
  if (w === undefined || !ENDED.includes(r.status)) return r.status
  return (r.finishedAt ?? r.startedAt) > (w.lastCheckedAt ?? '') ? r.status : w.state
}

function render (): void {
  const rows = $<HTMLTableSectionElement>('services-rows')
  rows.replaceChildren()
  $('services-notes').textContent = notes.join(' ')
  const names = [...new Set([...watched.keys(), ...latest.keys()])].sort((a, b) => a.localeCompare(b))
  if (names.length === 0) {
    const row = rows.insertRow()
    cell(row, 'Services', 'No service to show: none in this token\'s scope is watched (label container-updater.watch) or has been updated yet.').colSpan = 8
    return
  }
  for (const name of names) {
    const w = watched.get(name)
    const r = latest.get(name)
    const row = rows.insertRow()
    row.dataset.service = name
    const th = document.createElement('th')
    th.scope = 'row'
    th.textContent = name
    row.append(th)
    cell(row, 'Image', imageOf(name), 'image')
    const state = stateOf(w, r)
    stateCell(row, 'State', state)
    cell(row, 'Available', w?.available == null ? (w === undefined ? 'not watched' : 'none') : `${w.available.tag} (${w.available.digest.slice(0, 19)}…), from ${w.available.eligibleAt.slice(0, 16).replace('T', ' ')}`)
    cell(row, 'Policy', w === undefined ? '–' : [w.policy ?? 'digest', w.watch === 'notify' ? 'notify only' : '', w.schedule !== undefined ? `every ${w.schedule}` : ''].filter(Boolean).join(', '))
    cell(row, 'Gates', gates(name, w, r))
    cell(row, 'Quarantine', w?.quarantined == null ? '–' : `${w.quarantined.digest.slice(0, 19)}… since ${w.quarantined.since.slice(0, 16).replace('T', ' ')}`)
    const actions = row.insertCell()
    actions.dataset.label = 'Actions'
    actions.className = 'actions'
    addActions(actions, name, w, r)
  }
}

function addActions (td: HTMLTableCellElement, name: string, w: WatchService | undefined, r: UpdateRecord | undefined): void {
  if (!may('deploy')) { td.textContent = 'read only'; return }
  const appName = r?.appName ?? name
  td.append(
    button('Update now', async () => { await update(appName) }, name),
    button('Dry run', async () => { await dryRun(appName) }, name),
    button('Roll back', async () => { await rollback(appName) }, name),
    button('Check now', async () => { await checkNow(name) }, name)
  )
  if (!may('admin')) return
  if (w?.quarantined != null) td.append(button('Lift quarantine', async () => { await liftQuarantine(name) }, name))
  for (const p of pending.values()) {
    if (p.service !== name) continue
    td.append(
      button('Approve', async () => { await decide(p, 'approve') }, name),
      button('Reject', async () => { await decide(p, 'reject') }, name)
    )
  }
}

async function update (appName: string): Promise<void> {
  say(`Updating ${appName}…`)
  const record = await api<UpdateRecord>('/update', { method: 'POST', body: { appName, wait: false }, headers: FROM_UI })
  applyRecord(record)
  say(`Update of ${appName} started; this page follows it live.`)
}

async function dryRun (appName: string): Promise<void> {
  say(`Planning ${appName}…`)
  const answer = await api<{ plan: Array<{ service: string, image: string, targetImage: string, registryDigest?: string, upToDate?: boolean }> }>('/update', { method: 'POST', body: { appName, dryRun: true }, headers: FROM_UI })
  const lines = answer.plan.map((p) => `${p.service}: ${p.image}\n  → ${p.targetImage}${p.registryDigest === undefined ? ' (the registry could not be asked)' : ` = ${p.registryDigest}`}${p.upToDate === true ? '\n  already up to date' : ''}`)
  const plan = $('plan')
  plan.hidden = false
  plan.textContent = `Dry run of ${appName} (nothing changed):\n${lines.join('\n') || 'nothing to do'}`
  plan.focus()
  say(`Dry run of ${appName} done.`)
}

async function rollback (appName: string): Promise<void> {
  say(`Rolling ${appName} back…`)
  const record = await api<UpdateRecord>('/rollback', { method: 'POST', body: { appName, wait: false }, headers: FROM_UI })
  if (record?.updateId !== undefined) applyRecord(record)
  say(`Rollback of ${appName} requested; this page follows it live.`)
}

async function checkNow (service: string): Promise<void> {
  await api('/watch/check', { method: 'POST', body: { service } })
  say(`Check of ${service} requested; its row follows once the registry has answered.`)
}

async function liftQuarantine (service: string): Promise<void> {
  await api(`/watch/${encodeURIComponent(service)}/quarantine`, { method: 'DELETE' })
  await loadServices()
  say(`Quarantine of ${service} lifted.`)
}

async function decide (record: UpdateRecord, verdict: 'approve' | 'reject'): Promise<void> {
  const answer = await api<UpdateRecord>(`/updates/${encodeURIComponent(record.updateId)}/${verdict}`, { method: 'POST' })
  pending.delete(record.updateId)
  if (answer?.updateId !== undefined) applyRecord(answer)
  say(verdict === 'approve' ? `Update of ${record.service} approved.` : `Update of ${record.service} rejected.`)
}

$('refresh').addEventListener('click', () => { loadServices().catch(reportError) })
