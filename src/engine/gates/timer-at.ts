/** setTimeout's longest delay (about 24.8 days): a longer one fires at once. */
const LONGEST = 2_147_483_647

/**
 * Calls `fn` at the instant `at` (epoch ms), however far away (a freeze may last months), without
 * keeping the process alive. Returns the way to cancel it.
 */
export function timerAt (at: number, fn: () => void): () => void {
  let timer: NodeJS.Timeout
  const arm = (): void => {
    const delay = at - Date.now()
    timer = delay > LONGEST ? setTimeout(arm, LONGEST) : setTimeout(fn, Math.max(0, delay))
    timer.unref()
  }
  arm()
  return () => clearTimeout(timer)
}
