/** Messages between the updater and its spawner (./spawner.ts, ./spawner-child.ts), over Node's IPC channel. */

export interface SpawnRequest {
  id: number
  bin: string
  args: readonly string[]
  timeoutMs: number
  maxBuffer: number
}

export interface SpawnResult {
  id: number
  stdout: string
  stderr: string
  /** absent when the call exited 0; `code` is the exit code, or a spawn error's code such as ENOENT */
  error?: { code: string | number | null, killed: boolean, signal: string | null }
}
