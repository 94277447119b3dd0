/** Messages between the updater and its spawn helper (./spawner.ts, ./spawner-child.ts), over Node's IPC channel. */

/** updater → helper: run `bin args…` */
export interface SpawnRequest {
  id: number
  bin: string
  args: readonly string[]
  timeoutMs: number
  maxBuffer: number
  /** RunOptions.trim: what of a successful call's stdout is sent back */
  trim?: 'services'
}

/** helper → updater: sent once, when it is ready to start calls */
export interface HelperReady {
  ready: true
}

/** helper → updater: how one call ended */
export interface SpawnResult {
  id: number
  stdout: string
  stderr: string
  /** absent when the call exited 0; `code` is the exit code, or a spawn error's code such as ENOENT */
  error?: { code: string | number | null, killed: boolean, signal: string | null }
}
