import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { seedCodeIntel } from "../utils/codeIntelFixture.js"
import { insertRepository } from "../utils/fixtures.js"
import { createKey, get, withKey } from "../utils/keys.js"
import { testApp } from "../utils/TestApp.js"

interface Match {
  readonly repository_id: string
  readonly path: string
  readonly line: number
  readonly column: number
  readonly snippet: string
  readonly ranges: ReadonlyArray<[number, number]>
}
interface Results {
  readonly matches: ReadonlyArray<Match>
  readonly files?: ReadonlyArray<{ path: string; match_count: number }>
  readonly next_cursor: string | null
  readonly _tag?: string
}

const search = (key: string, params: Record<string, string>) =>
  Effect.flatMap(
    get(`/api/v1/search/code?${new URLSearchParams(params)}`, withKey(key)),
    (r) => Effect.map(r.json, (body) => ({ status: r.status, body: body as Results }))
  )

const at = (results: Results) => results.matches.map((m) => `${m.path}:${m.line}`)

layer(testApp(), { timeout: "120 seconds", excludeTestServices: true })("code search's sym: filter", (it) => {
  it.effect("sym: reports definition lines in the normal match shape, combined with filters and patterns", () =>
    Effect.gen(function*() {
      const key = yield* createKey({ rate_limit: 10_000 })
      const repositoryId = yield* insertRepository(key.user_id, "fixture")
      yield* seedCodeIntel(repositoryId)
      const q = (query: string, extra: Record<string, string> = {}) =>
        Effect.map(search(key.api_key, { q: query, ...extra }), (r) => {
          expect(r.status, JSON.stringify(r.body)).toBe(200)
          return r.body
        })

      const main = yield* q("sym:main")
      expect(at(main)).toEqual(["app/main.py:8", "cmd/server.go:13", "src/index.ts:5"])
      expect(main.matches[2]).toEqual({
        repository_id: repositoryId,
        path: "src/index.ts",
        language: "TypeScript",
        line: 5,
        column: 17,
        snippet: "export function main(): void {",
        ranges: [[16, 20]]
      })
      // Case-insensitive names unless case:yes; the other filters narrow the files.
      expect(at(yield* q("sym:MAIN"))).toEqual(at(main))
      expect(at(yield* q("sym:MAIN case:yes"))).toEqual([])
      expect(at(yield* q("sym:main lang:go"))).toEqual(["cmd/server.go:13"])
      expect(at(yield* q("sym:main -lang:go path:src/**"))).toEqual(["src/index.ts:5"])
      // Several names: files defining all of them.
      expect(at(yield* q("sym:formatName sym:helper"))).toEqual(["src/util.ts:3", "src/util.ts:11"])
      // With a pattern: files defining the name that also hold the pattern; both kinds of line are matches.
      expect(at(yield* q("sym:helper return"))).toEqual([
        "app/helpers.py:1",
        "app/helpers.py:2",
        "src/util.ts:4",
        "src/util.ts:8",
        "src/util.ts:11"
      ])
      expect(at(yield* q("sym:helper /str\\(/"))).toEqual(["app/helpers.py:1", "app/helpers.py:2"])
      expect(at(yield* q("sym:helper nowhere-to-be-found"))).toEqual([])
      const files = yield* q("sym:main type:file")
      expect(files.files?.map((f) => `${f.path}:${f.match_count}`)).toEqual([
        "app/main.py:1",
        "cmd/server.go:1",
        "src/index.ts:1"
      ])
      // Pages resume after the last match.
      const seen: Array<string> = []
      let cursor: string | null = null
      do {
        const page: Results = yield* q("sym:main", { limit: "1", ...(cursor === null ? {} : { cursor }) })
        seen.push(...at(page))
        cursor = page.next_cursor
      } while (cursor !== null)
      expect(seen).toEqual(at(main))
      const bad = yield* search(key.api_key, { q: "-sym:main" })
      expect([bad.status, bad.body._tag]).toEqual([400, "InvalidQuery"])

      // Another user's definitions never match.
      const other = yield* createKey({ rate_limit: 10_000 })
      expect(at((yield* search(other.api_key, { q: "sym:main" })).body)).toEqual([])
    }))
})
