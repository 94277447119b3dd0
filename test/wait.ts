import { setTimeout as sleep } from 'node:timers/promises'

/** Polls `probe` every `everyMs` until it returns something other than undefined, else fails naming `what`. */
export async function until<T> (what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${timeoutMs / 1000} s`)
    await sleep(everyMs)
  }
}

/**
 * Polls `check` every `everyMs` (250 ms: a Docker read; unit tests of in-process state poll faster)
 * until it holds (a check that throws counts as not yet), else fails naming `what`. The bound is for
 * a loaded machine, not a timing assertion.
 */
export async function waitFor (what: string, check: () => boolean | Promise<boolean>, seconds = 60, everyMs = 250): Promise<void> {
  await until(what, async () => (await Promise.resolve().then(check).catch(() => false)) ? true : undefined, seconds * 1000, everyMs)
}
