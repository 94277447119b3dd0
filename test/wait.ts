import { setTimeout as sleep } from 'node:timers/promises'

/** Polls `check` every 250 ms until it holds (a check that throws counts as not yet), else fails naming `what`. */
export async function waitFor (what: string, check: () => boolean | Promise<boolean>, seconds = 60): Promise<void> {
  const deadline = Date.now() + seconds * 1000
  while (Date.now() < deadline) {
    if (await Promise.resolve().then(check).catch(() => false)) return
    await sleep(250)
  }
  throw new Error(`timed out after ${seconds} s waiting for ${what}`)
}
