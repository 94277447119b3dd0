/**
 * A text stream cut into lines, for a process that never ends (`docker events`): each complete line
 * goes to `onLine` as it arrives; a line longer than `longest` is not buffered but dropped up to its
 * end, and counted by `onTooLong` (an event is a few hundred bytes: that is not one).
 */
export interface LineSplitter {
  /** the next chunk of text */
  push: (chunk: string) => void
  /** the stream ended: the last line, if it had no newline */
  flush: () => void
}

export function splitLines (longest: number, onLine: (line: string) => void, onTooLong: () => void): LineSplitter {
  let partial = ''
  let discarding = false
  return {
    push (chunk) {
      let start = 0
      let newline = chunk.indexOf('\n')
      while (newline !== -1) {
        const line = partial + chunk.slice(start, newline)
        partial = ''
        if (discarding) discarding = false
        else onLine(line)
        start = newline + 1
        newline = chunk.indexOf('\n', start)
      }
      if (!discarding) partial += chunk.slice(start)
      if (partial.length > longest) {
        onTooLong()
        partial = ''
        discarding = true
      }
    },
    flush () {
      if (partial !== '' && !discarding) onLine(partial)
      partial = ''
    }
  }
}
