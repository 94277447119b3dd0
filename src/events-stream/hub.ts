import type { ServerResponse } from 'node:http'
import type { UpdateRecord } from '../store/records.js'

/**
 * One event of the stream: its id (a counter of this process), its kind (`record`: an update record
 * as it now is; `watch`: a service's GET /watch entry), its data, and the names that decide who may
 * see it (a record's app name and service; a watched service's name).
 */
export interface StreamEvent {
  id: number
  event: 'record' | 'watch'
  data: object
  names: readonly string[]
}

/** Whether a client's token may see an event about these names (a record's app and service). */
export type Visible = (names: readonly string[]) => boolean

/** A watched service's GET /watch entry, as a `watch` event carries it (src/watch/entry.ts). */
export interface WatchEntry {
  service: string
}

export interface RecordStreamOptions {
  /** events kept for Last-Event-ID replay */
  replay?: number
  /** bytes a client may have unsent in its socket before it is dropped */
  maxBufferedBytes?: number
  heartbeatMs?: number
  onDropped?: () => void
}

interface Client {
  res: ServerResponse
  visible: Visible
}

/**
 * The live stream of record and watch-state changes (GET /events) for every connected client,
 * each filtered to its token's scope. Memory is bounded twice: the replay ring holds the last `replay` events, and a
 * client whose socket has more than `maxBufferedBytes` unsent (it stopped reading) is cut off
 * instead of being buffered for: one slow client never holds the others or grows the heap.
 */
export class RecordStream {
  readonly #ring: StreamEvent[] = []
  readonly #replay: number
  readonly #maxBuffered: number
  readonly #clients = new Set<Client>()
  readonly #onDropped: () => void
  readonly #heartbeat: NodeJS.Timeout
  #lastId = 0
  #dropped = 0

  constructor (options: RecordStreamOptions = {}) {
    this.#replay = options.replay ?? 1000
    this.#maxBuffered = options.maxBufferedBytes ?? 64 * 1024
    this.#onDropped = options.onDropped ?? (() => {})
    // A comment line: keeps proxies from closing an idle stream, and finds dead sockets.
    this.#heartbeat = setInterval(() => { for (const client of this.#clients) this.#write(client, ': heartbeat\n\n') }, options.heartbeatMs ?? 15_000)
    this.#heartbeat.unref()
  }

  get clients (): number { return this.#clients.size }
  get dropped (): number { return this.#dropped }
  get lastId (): number { return this.#lastId }

  /** Announces a record's new state to every client that may see it. */
  publish (record: UpdateRecord): void {
    this.#announce('record', record, [record.appName, record.service])
  }

  /** Announces a watched service's new GET /watch entry to every client that may see the service. */
  publishWatch (entry: WatchEntry): void {
    this.#announce('watch', entry, [entry.service])
  }

  /**
   * Adds a client whose headers are sent; replays what it missed after `lastEventId`. When those
   * events are no longer kept, it gets a `reset` event: reload the state, then follow the stream.
   */
  attach (res: ServerResponse, visible: Visible, lastEventId?: number): void {
    const client = { res, visible }
    this.#clients.add(client)
    res.on('close', () => this.#clients.delete(client))
    this.#write(client, `retry: 3000\nid: ${this.#lastId}\nevent: hello\ndata: {"lastEventId":${this.#lastId}}\n\n`)
    if (lastEventId === undefined || lastEventId >= this.#lastId) return
    const oldest = this.#ring[0]?.id ?? this.#lastId + 1
    if (lastEventId < oldest - 1 || lastEventId > this.#lastId) {
      this.#write(client, `event: reset\ndata: {"reason":"events after ${lastEventId} are no longer kept"}\n\n`)
      return
    }
    for (const event of this.#ring) if (event.id > lastEventId && visible(event.names)) this.#write(client, frameOf(event))
  }

  /** Ends every stream (shutdown): clients reconnect to the next instance with Last-Event-ID. */
  close (): void {
    clearInterval(this.#heartbeat)
    for (const client of this.#clients) client.res.end()
    this.#clients.clear()
  }

  #announce (kind: StreamEvent['event'], data: object, names: readonly string[]): void {
    const event = { id: ++this.#lastId, event: kind, data, names }
    this.#ring.push(event)
    if (this.#ring.length > this.#replay) this.#ring.shift()
    const frame = frameOf(event)
    for (const client of this.#clients) if (client.visible(names)) this.#write(client, frame)
  }

  #write (client: Client, frame: string): void {
    const { res } = client
    if (res.destroyed || res.writableEnded) return
    if (res.writableLength > this.#maxBuffered) {
      this.#clients.delete(client)
      this.#dropped++
      this.#onDropped()
      res.destroy()
      return
    }
    res.write(frame)
  }
}

function frameOf (event: StreamEvent): string {
  return `id: ${event.id}\nevent: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`
}
