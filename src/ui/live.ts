// GET /events through fetch (an EventSource cannot send the bearer header), reconnecting after 3 s
// with Last-Event-ID; `reset` means the changes since were not kept: read everything again.
// `record` events update a row; `watch` events (a service's GET /watch entry, sent when it changes) too.
import { ApiError, token, type UpdateRecord, type WatchService } from './api.js'

export interface LiveHandlers {
  onRecord: (record: UpdateRecord) => void
  /** a `watch` event: a service's GET /watch entry, sent when what it shows changes */
  onWatch: (service: WatchService) => void
  onReset: () => Promise<void>
  onRefused: (error: ApiError) => void
}

let abort: AbortController | undefined
export const stopLive = (): void => { abort?.abort() }

export async function follow (handlers: LiveHandlers): Promise<void> {
  let lastId: string | undefined
  abort = new AbortController()
  const { signal } = abort
  while (!signal.aborted) {
    try {
      const res = await fetch('/events', { headers: { authorization: `Bearer ${token.get() ?? ''}`, ...(lastId !== undefined && { 'last-event-id': lastId }) }, signal })
      if (res.status === 401) { handlers.onRefused(new ApiError(401, 'refused')); return }
      if (res.ok && res.body !== null) {
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
        let rest = ''
        for (;;) {
          const { value, done } = await reader.read()
          if (done) break
          const frames = (rest + value).split('\n\n')
          rest = frames.pop() ?? ''
          for (const frame of frames) {
            let event = ''; let data = ''
            for (const line of frame.split('\n')) {
              if (line.startsWith('id: ')) lastId = line.slice(4)
              else if (line.startsWith('event: ')) event = line.slice(7)
              else if (line.startsWith('data: ')) data = line.slice(6)
            }
            if (event === 'record') handlers.onRecord(JSON.parse(data) as UpdateRecord)
            else if (event === 'watch') handlers.onWatch(JSON.parse(data) as WatchService)
            else if (event === 'reset') await handlers.onReset()
          }
        }
      }
    } catch {
      if (signal.aborted) return
    }
    await new Promise((resolve) => setTimeout(resolve, 3000))
  }
}
