// Freezes (DESIGN §8): listed for every token (they explain why updates are held or refused);
// created and ended by admin tokens only. GET/POST/DELETE /freezes may be missing on an older
// updater: the services view then says so and the panel stays hidden.
import { api, explain, may, type Freeze } from './api.js'
import { $, button, cell, say } from './dom.js'

let freezes: Freeze[] = []
let onChange: () => Promise<void> = async () => {}
export const onFreezesChange = (handler: () => Promise<void>): void => { onChange = handler }

/** `*` matches any run (as token scopes do); everything else literally. */
export function globMatches (glob: string, name: string): boolean {
  const parts = glob.split('*')
  if (parts.length === 1) return glob === name
  if (!name.startsWith(parts[0]!) || !name.endsWith(parts.at(-1)!)) return false
  let at = parts[0]!.length
  const end = name.length - parts.at(-1)!.length
  for (const part of parts.slice(1, -1)) {
    const found = name.indexOf(part, at)
    if (found === -1 || found + part.length > end) return false
    at = found + part.length
  }
  return at <= end
}

export const freezesOf = (service: string): Freeze[] => freezes.filter((f) => f.services.some((g) => globMatches(g, service)))

export async function loadFreezes (): Promise<void> {
  $('freezes').hidden = true
  const answer = await api<Freeze[] | { freezes: Freeze[] }>('/freezes')
  freezes = Array.isArray(answer) ? answer : answer.freezes
  render()
}

function render (): void {
  $('freezes').hidden = false
  $('freeze-form').hidden = !may('admin')
  const rows = $<HTMLTableSectionElement>('freeze-rows')
  rows.replaceChildren()
  if (freezes.length === 0) {
    cell(rows.insertRow(), 'Freezes', 'No freeze: automatic updates follow their windows and approvals.').colSpan = 4
    return
  }
  for (const f of freezes) {
    const row = rows.insertRow()
    cell(row, 'Services', f.services.join(', '))
    cell(row, 'Until', f.until.slice(0, 16).replace('T', ' '))
    cell(row, 'Reason', f.reason ?? '–')
    const td = row.insertCell()
    td.dataset.label = 'Actions'
    if (may('admin')) td.append(button('End freeze', async () => { await endFreeze(f) }, f.services.join(', ')))
  }
}

async function endFreeze (f: Freeze): Promise<void> {
  await api(`/freezes/${encodeURIComponent(f.freezeId)}`, { method: 'DELETE' })
  await onChange()
  say(`Freeze of ${f.services.join(', ')} ended.`)
}

$('freeze-form').addEventListener('submit', (event) => {
  event.preventDefault()
  const services = $<HTMLInputElement>('fz-services').value.split(',').map((s) => s.trim()).filter(Boolean)
  const untilMs = Date.parse($<HTMLInputElement>('fz-until').value)
  if (services.length === 0 || Number.isNaN(untilMs)) { say('A freeze needs services (names or globs, comma-separated) and an end time.', true); return }
  const until = new Date(untilMs).toISOString()
  const reason = $<HTMLInputElement>('fz-reason').value.trim()
  api('/freezes', { method: 'POST', body: { services, until, reason } })
    .then(async () => { await onChange(); say(`Frozen: ${services.join(', ')}.`) })
    .catch((error: unknown) => { say(explain(error), true) })
})
