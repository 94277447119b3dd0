import { describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { encodeCursor } from '../../src/store/cursor.js'
import { createMemoryStore } from '../../src/store/memory-store.js'
import type { ListQuery, UpdateRecord, UpdateStore } from '../../src/store/records.js'
import { record, sqliteStore, uuid } from './store-fixtures.ts'

/** Every page of a listing, following nextCursor to the end. */
function allPages (store: UpdateStore, query: Omit<ListQuery, 'cursor'>): string[][] {
  const pages: string[][] = []
  let cursor: string | undefined
  do {
    const page = store.list({ ...query, ...(cursor !== undefined && { cursor }) })
    pages.push(page.updates.map((r) => r.updateId))
    cursor = page.nextCursor ?? undefined
    assert.ok(pages.length < 1000, 'paging ends')
  } while (cursor !== undefined)
  return pages
}

/** n: the record number of an id made by uuid(). */
const n = (id: string): number => parseInt(id.slice(-12), 16)

const kinds: Array<[string, (t: TestContext) => UpdateStore]> = [
  ['sqlite', (t) => sqliteStore(t)],
  ['memory', () => createMemoryStore()]
]

for (const [kind, open] of kinds) {
  describe(`${kind} store: GET /updates paging`, () => {
    /** 250 records; every third pair shares its startedAt, so the id decides their order. */
    const fill = (store: UpdateStore): void => {
      for (let i = 0; i < 250; i++) {
        store.save(record(i, {
          startedAt: record(i % 3 === 1 ? i - 1 : i).startedAt,
          service: i % 5 === 0 ? 'api' : 'web',
          status: i % 7 === 0 ? 'rolled_back' : 'completed'
        }))
      }
    }

    test('newest first across pages, with no duplicate and no gap; the last page says so', (t) => {
      const store = open(t)
      fill(store)
      const pages = allPages(store, { limit: 40 })
      assert.deepEqual(pages.map((p) => p.length), [40, 40, 40, 40, 40, 40, 10])
      assert.deepEqual(pages.flat().map(n), Array.from({ length: 250 }, (_, i) => 249 - i))
    })

    test('a last page that is exactly full has nextCursor null', (t) => {
      const store = open(t)
      for (let i = 0; i < 20; i++) store.save(record(i))
      const first = store.list({ limit: 10 })
      const second = store.list({ limit: 10, cursor: first.nextCursor! })
      assert.equal(second.updates.length, 10)
      assert.equal(second.nextCursor, null)
    })

    test('pages stay put while newer records arrive between them', (t) => {
      const store = open(t)
      fill(store)
      const seen: number[] = []
      let page = store.list({ limit: 25 })
      let added = 1000
      while (seen.length < 1000) {
        seen.push(...page.updates.map((r) => n(r.updateId)))
        if (page.nextCursor === null) break
        store.save(record(added++)) // newer than everything: belongs before the first page
        page = store.list({ limit: 25, cursor: page.nextCursor })
      }
      assert.deepEqual(seen, Array.from({ length: 250 }, (_, i) => 249 - i))
      assert.equal(store.list({ limit: 1 }).updates[0]?.updateId, uuid(added - 1))
    })

    test('filters: service, status, since, and all together', (t) => {
      const store = open(t)
      fill(store)
      const api = allPages(store, { limit: 7, service: 'api' }).flat().map(n)
      assert.deepEqual(api, Array.from({ length: 50 }, (_, i) => 245 - i * 5))
      const rolledBack = allPages(store, { limit: 100, status: 'rolled_back' }).flat().map(n)
      assert.deepEqual(rolledBack, Array.from({ length: 36 }, (_, i) => 245 - i * 7))
      const since = record(200).startedAt
      const recent = allPages(store, { limit: 100, since }).flat().map(n)
      assert.deepEqual(recent, Array.from({ length: 50 }, (_, i) => 249 - i))
      // since with an offset is the same instant
      const shifted = new Date(Date.parse(since)).toISOString().replace('Z', '+00:00')
      assert.equal(store.list({ limit: 100, since: shifted }).updates.length, 50)
      const both = store.list({ limit: 100, service: 'api', status: 'rolled_back', since: record(100).startedAt }).updates.map((r) => n(r.updateId))
      assert.deepEqual(both, [245, 210, 175, 140, 105])
      assert.deepEqual(store.list({ limit: 10, service: 'nothing' }), { updates: [], nextCursor: null })
    })

    test('limit is held to 1..100', (t) => {
      const store = open(t)
      fill(store)
      assert.equal(store.list({ limit: 1000 }).updates.length, 100)
      assert.equal(store.list({ limit: 0 }).updates.length, 1)
      assert.equal(store.list({ limit: Number.NaN }).updates.length, 1)
    })

    test('a scoped caller sees only its records, pages still fill, and no cursor shows it another scope', (t) => {
      const store = open(t)
      fill(store)
      // 'api' is 1 record in 5: each page must read past invisible rows to fill up.
      const visible = (r: Pick<UpdateRecord, 'appName' | 'service'>): boolean => r.service === 'api'
      const pages = allPages(store, { limit: 10, visible })
      assert.deepEqual(pages.map((p) => p.length), [10, 10, 10, 10, 10])
      assert.deepEqual(pages.flat().map(n), Array.from({ length: 50 }, (_, i) => 245 - i * 5))

      // A cursor taken by an unscoped caller (pointing between web records) lists only api ones.
      const unscoped = store.list({ limit: 3 })
      const page = store.list({ limit: 100, cursor: unscoped.nextCursor!, visible })
      assert.ok(page.updates.every(visible))
      assert.equal(page.updates.length, 50, 'every api record is older than the first three records')
      // A forged cursor (any position) does the same.
      const forged = encodeCursor({ startedMs: Date.parse(record(300).startedAt), updateId: uuid(300) })
      assert.ok(store.list({ limit: 100, cursor: forged, visible }).updates.every(visible))

      // A scope that sees nothing: an empty last page, no cursor that could name a hidden record.
      assert.deepEqual(store.list({ limit: 10, visible: () => false }), { updates: [], nextCursor: null })
    })

    test('a scope may match the name the request used as well as the service', (t) => {
      const store = open(t)
      fill(store)
      store.save(record(300, { appName: 'shop', service: 'shop_shop' }))
      store.save(record(301, { appName: 'shop_shop', service: 'shop_shop' }))
      const visible = ({ service, appName }: { service: string, appName: string }): boolean => appName === 'shop' || service === 'api'
      const page = store.list({ limit: 3, visible })
      assert.deepEqual(page.updates.map((r) => n(r.updateId)), [300, 245, 240])
      // A pair first seen after a page was read (record 201 saved again under new names) is
      // judged on the next page like any other.
      store.save(record(201, { appName: 'shop', service: 'new' }))
      const next = store.list({ limit: 100, visible, cursor: page.nextCursor! })
      assert.ok(next.updates.some((r) => r.service === 'new'))
      assert.ok(next.updates.every((r) => r.appName === 'shop' || r.service === 'api'))
    })

    test('a cursor that a page did not hand out is a 400, and so is a since that is not a date', (t) => {
      const store = open(t)
      fill(store)
      for (const cursor of ['', 'not a cursor', 'e30', Buffer.from('[1,2]').toString('base64url'), Buffer.from('[1.5,"x"]').toString('base64url'), 'x'.repeat(500)]) {
        assert.throws(() => store.list({ limit: 10, cursor }), (error: { code?: string, statusCode?: number }) =>
          error.code === 'CU_INVALID_CURSOR' && error.statusCode === 400, JSON.stringify(cursor))
      }
      assert.throws(() => store.list({ limit: 10, since: 'last tuesday' }), { code: 'CU_INVALID_SINCE', statusCode: 400 })
    })
  })
}
