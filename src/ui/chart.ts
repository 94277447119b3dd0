// Two hand-written SVG charts of a page of history: updates per day by outcome (stacked bars) and
// the durations of the finished updates. No chart library: two bar charts are ~100 lines of SVG,
// and a library would weigh more than the whole page and need a CSP exception for its styles.
// Colour is never the only cue: each outcome has a pattern too, and every bar part its mark and count.
import type { UpdateRecord } from './api.js'
import { MARKS, seconds } from './dom.js'

const NS = 'http://www.w3.org/2000/svg'
function svg (name: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const el = document.createElementNS(NS, name)
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v))
  if (text !== undefined) el.textContent = text
  return el
}

/** Outcome groups: each a fill, a pattern and a word. */
const GROUPS = [
  { key: 'completed', label: 'completed', fill: '#2a7a4a', pattern: 'solid' },
  { key: 'rolled_back', label: 'rolled back / paused', fill: '#b26b00', pattern: 'stripes' },
  { key: 'failed', label: 'failed / timeout', fill: '#b3261e', pattern: 'cross' },
  { key: 'other', label: 'other (running, held, superseded…)', fill: '#5a6270', pattern: 'dots' }
] as const
const groupOf = (status: string): typeof GROUPS[number] =>
  GROUPS.find((g) => g.key === status) ?? (status === 'paused' ? GROUPS[1] : ['timeout', 'rejected', 'expired'].includes(status) ? GROUPS[2] : GROUPS[3])

function defs (): SVGElement {
  const d = svg('defs', {})
  for (const g of GROUPS) {
    const p = svg('pattern', { id: `p-${g.key}`, width: 8, height: 8, patternUnits: 'userSpaceOnUse' })
    p.append(svg('rect', { width: 8, height: 8, fill: g.fill }))
    if (g.pattern === 'stripes') p.append(svg('path', { d: 'M0 8 L8 0', stroke: '#fff', 'stroke-width': 2 }))
    if (g.pattern === 'cross') p.append(svg('path', { d: 'M0 0 L8 8 M8 0 L0 8', stroke: '#fff', 'stroke-width': 1.5 }))
    if (g.pattern === 'dots') p.append(svg('circle', { cx: 4, cy: 4, r: 1.6, fill: '#fff' }))
    d.append(p)
  }
  return d
}

function perDay (records: UpdateRecord[]): SVGElement | undefined {
  const days = new Map<string, Map<string, number>>()
  for (const r of records) {
    const counts = days.get(r.startedAt.slice(0, 10)) ?? new Map<string, number>()
    const key = groupOf(r.status).key
    counts.set(key, (counts.get(key) ?? 0) + 1)
    days.set(r.startedAt.slice(0, 10), counts)
  }
  if (days.size === 0) return undefined
  const sorted = [...days.entries()].sort(([a], [b]) => a.localeCompare(b)).slice(-14)
  const max = Math.max(...sorted.map(([, c]) => [...c.values()].reduce((a, b) => a + b, 0)))
  const width = Math.max(64 * sorted.length + 24, 280)
  const chart = svg('svg', { viewBox: `0 0 ${width} 270`, width, height: 270, role: 'img', 'aria-labelledby': 'chart-days-title' })
  chart.append(svg('title', { id: 'chart-days-title' }, `Updates per day by outcome, ${sorted.length} day(s): ${sorted.map(([day, c]) => `${day} ${[...c].map(([k, n]) => `${n} ${groupOf(k).label}`).join(', ')}`).join('; ')}`), defs())
  sorted.forEach(([day, counts], i) => {
    let y = 170
    for (const g of GROUPS) {
      const n = counts.get(g.key) ?? 0
      if (n === 0) continue
      const h = (n / max) * 150
      y -= h
      chart.append(svg('rect', { x: 12 + i * 64, y, width: 44, height: h, fill: `url(#p-${g.key})`, stroke: '#1a1a1a' }))
      chart.append(svg('text', { x: 60 + i * 64, y: y + Math.min(h, 14) - 2 }, `${MARKS[g.key] ?? '·'}${n}`))
    }
    chart.append(svg('text', { x: 12 + i * 64, y: 188 }, day.slice(5)))
  })
  GROUPS.forEach((g, i) => {
    const x = 12
    const y = 208 + i * 17
    chart.append(svg('rect', { x, y: y - 10, width: 12, height: 12, fill: `url(#p-${g.key})`, stroke: '#1a1a1a' }), svg('text', { x: x + 16, y }, g.label))
  })
  return chart
}

function durations (records: UpdateRecord[]): SVGElement | undefined {
  const done = records.filter((r) => r.durationMs !== null).slice(0, 12)
  if (done.length === 0) return undefined
  const max = Math.max(...done.map((r) => r.durationMs!), 1)
  const chart = svg('svg', { viewBox: `0 0 420 ${done.length * 20 + 10}`, width: 420, height: done.length * 20 + 10, role: 'img', 'aria-labelledby': 'chart-durations-title' })
  chart.append(svg('title', { id: 'chart-durations-title' }, `Durations of the ${done.length} latest finished updates, longest ${seconds(max)}`))
  done.forEach((r, i) => {
    const g = groupOf(r.status)
    chart.append(svg('text', { x: 0, y: i * 20 + 16 }, `${MARKS[r.status] ?? '·'} ${r.service.slice(0, 16)}`))
    chart.append(svg('rect', { x: 150, y: i * 20 + 4, width: Math.max(2, (r.durationMs! / max) * 200), height: 14, fill: `url(#p-${g.key})`, stroke: '#1a1a1a' }))
    chart.append(svg('text', { x: 150 + Math.max(2, (r.durationMs! / max) * 200) + 4, y: i * 20 + 16 }, seconds(r.durationMs)))
  })
  return chart
}

export function renderCharts (figure: HTMLElement, records: UpdateRecord[]): void {
  figure.replaceChildren()
  const days = perDay(records)
  if (days === undefined) return
  const times = records.filter((r) => r.durationMs !== null).map((r) => r.durationMs!).sort((a, b) => a - b)
  const caption = document.createElement('figcaption')
  caption.textContent = `Updates per day by outcome (this page of history), and how long the latest took. ${times.length === 0 ? 'None has finished yet.' : `Median ${seconds(times[Math.floor(times.length / 2)]!)}, longest ${seconds(times.at(-1)!)}.`}`
  figure.append(days)
  const d = durations(records)
  if (d !== undefined) figure.append(d)
  figure.append(caption)
}
