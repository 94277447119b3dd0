// Small DOM helpers shared by the views: text only (textContent, never HTML from the API).

export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T

/** A mark beside each state, so that it never rests on colour alone. */
export const MARKS: Record<string, string> = Object.fromEntries(Object.entries({
  '✓': 'completed up_to_date',
  '↶': 'rolled_back',
  '✗': 'failed rejected error',
  '…': 'updating queued verifying',
  '⧗': 'timeout waiting_min_age deferred',
  '‖': 'paused',
  '→': 'superseded',
  '–': 'cancelled expired',
  '⏸': 'held',
  '?': 'pending_approval',
  '↑': 'update_available',
  '⚠': 'quarantined',
  '⌖': 'pinned'
}).flatMap(([mark, states]) => states.split(' ').map((state) => [state, mark])))

export function say (text: string, error = false): void {
  const status = $('status')
  status.textContent = text
  status.className = error ? 'error' : ''
}

export function cell (row: HTMLTableRowElement, label: string, text: string, className?: string): HTMLTableCellElement {
  const td = row.insertCell()
  td.textContent = text
  td.dataset.label = label
  if (className !== undefined) td.className = className
  return td
}

export function stateCell (row: HTMLTableRowElement, label: string, status: string): HTMLTableCellElement {
  const td = cell(row, label, status.replaceAll('_', ' '), 'state')
  td.dataset.mark = MARKS[status] ?? ''
  td.dataset.state = status
  return td
}

let onError: (error: unknown) => void = () => {}
/** Where a failed action's error goes (page.ts: say it, sign out on 401). */
export const setErrorHandler = (handler: (error: unknown) => void): void => { onError = handler }
export const reportError = (error: unknown): void => { onError(error) }

/** A button; `of` names what it acts on, after its visible label (a screen reader hears "Update now: web"). */
export function button (label: string, action: () => Promise<void>, of?: string): HTMLButtonElement {
  const b = document.createElement('button')
  b.type = 'button'
  b.textContent = label
  if (of !== undefined) b.setAttribute('aria-label', `${label}: ${of}`)
  b.addEventListener('click', () => {
    b.disabled = true
    action().catch(reportError).finally(() => { b.disabled = false })
  })
  return b
}

export const shortDigest = (image: string | null | undefined): string => {
  if (image === null || image === undefined) return '–'
  const at = image.indexOf('@sha256:')
  return at === -1 ? image : `${image.slice(0, at)}@${image.slice(at + 1, at + 20)}…`
}

export const seconds = (ms: number | null): string => ms === null ? '–' : `${(ms / 1000).toFixed(1)} s`
export const when = (iso: string | null | undefined): string => iso === null || iso === undefined || iso === '' ? '–' : iso.replace('T', ' ').slice(0, 19)
