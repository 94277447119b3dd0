import { opensAt, openWindow, parseWindows, WindowSyntaxError, type Window } from './windows.js'

/** The label that gives a service its own windows, replacing UPDATE_WINDOWS (docs/API.md, "Update windows"). */
export const WINDOW_LABEL = 'container-updater.window'

export type WindowDecision =
  | { open: true }
  /** closed: `opensAt` is epoch ms; `windows` the list as written, `source` where it came from */
  | { open: false, opensAt: number, windows: string, source: 'label' | 'UPDATE_WINDOWS' }
  /** the service's label cannot be read: nothing may start (fail closed) */
  | { open: false, invalid: string }

// Labels are read on every request: parse each distinct value once (bounded).
const parsed = new Map<string, Window[] | WindowSyntaxError>()

function windowsOf (text: string): Window[] | WindowSyntaxError {
  let windows = parsed.get(text)
  if (windows === undefined) {
    try {
      windows = parseWindows(text)
    } catch (error) {
      if (!(error instanceof WindowSyntaxError)) throw error
      windows = error
    }
    if (parsed.size < 1024) parsed.set(text, windows)
  }
  return windows
}

/**
 * May an update of a service with these labels start at `now`? The label replaces the global list
 * (UPDATE_WINDOWS, undefined: always open). For the explicit route (423) and, for automatic
 * triggers (hooks, watch), to hold an update until `opensAt`.
 */
export function windowDecision (labels: Readonly<Record<string, string>>, globalWindows: string | undefined, now: number = Date.now()): WindowDecision {
  const label = labels[WINDOW_LABEL]
  const text = label ?? globalWindows
  if (text === undefined) return { open: true }
  const windows = windowsOf(text)
  if (windows instanceof WindowSyntaxError) return { open: false, invalid: `label ${WINDOW_LABEL}=${JSON.stringify(text)}: ${windows.message}` }
  if (openWindow(windows, now) !== undefined) return { open: true }
  return { open: false, opensAt: opensAt(windows, now), windows: text, source: label !== undefined ? 'label' : 'UPDATE_WINDOWS' }
}
