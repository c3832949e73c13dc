import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { ServicesLive } from "../../src/layers/Services.js"
import { SqlLive } from "../../src/layers/Sql.js"
import { CodeNavigation } from "../../src/services/CodeNavigation.js"
import type { FileIntel } from "../../src/services/stores/CodeIntelStore.js"
import { CodeIntelStore } from "../../src/services/stores/CodeIntelStore.js"
import { NavigationStore } from "../../src/services/stores/NavigationStore.js"
import { SearchDatabase } from "../../src/services/stores/SearchDatabase.js"
import type { ExtractedReference, ReferenceKind } from "../../src/symbols/Extraction.js"
import { insertRepository } from "../utils/fixtures.js"
import { createKey } from "../utils/keys.js"
import { testConfig } from "../utils/TestApp.js"
import { TestDatabaseLive } from "../utils/TestDatabase.js"

const Live = Layer.mergeAll(ServicesLive, CodeIntelStore.Default).pipe(
  Layer.provideMerge(SqlLive),
  Layer.provideMerge(testConfig()),
  Layer.provideMerge(TestDatabaseLive)
)

const ref = (name: string, kind: ReferenceKind, line: number, column: number, enclosing: string | null) =>
  ({ name, kind, line, column, enclosing }) satisfies ExtractedReference

// One name referenced with every kind in one file, calls in several enclosing definitions (names an array
// literal must quote), out of line order, and the same name in a second file.
const files: ReadonlyArray<FileIntel> = [
  {
    path: "src/a.ts",
    language: "TypeScript",
    symbols: [],
    imports: [],
    references: [
      ref("x", "import", 1, 10, null),
      ref("y", "call", 2, 1, "f"),
      ref("x", "call", 5, 3, "g \"q\\"),
      ref("x", "type", 5, 9, "g \"q\\"),
      ref("x", "call", 3, 7, "h{1,2}"),
      ref("x", "inherit", 4, 2, null),
      ref("x", "call", 2, 4, "g \"q\\"),
      ref("x", "other", 6, 1, "NULL"),
      ref("x", "call", 7, 1, null),
      ref("y", "type", 8, 1, null)
    ]
  },
  {
    path: "src/b.ts",
    language: "TypeScript",
    symbols: [],
    imports: [],
    references: [ref("x", "call", 1, 1, "main"), ref("z", "call", 2, 1, "main"), ref("x", "type", 3, 1, null)]
  }
]

const flat = files.flatMap((f) => f.references.map((r, ordinal) => ({ path: f.path, ordinal, ...r })))

layer(Live, { timeout: "60 seconds", excludeTestServices: true })("references stored per file and name", (it) => {
  it.effect("every reference comes back as written: kinds, paging, callers, counts, removal", () =>
    Effect.gen(function*() {
      const key = yield* createKey()
      const repositoryId = yield* insertRepository(key.user_id, "groups")
      const sql = yield* SqlClient.SqlClient
      yield* CodeIntelStore.pipe(Effect.flatMap((store) => store.replace(repositoryId, [], files)))
      yield* sql`UPDATE repositories SET last_indexed_commit = 'c0ffee', last_indexed_at = now() WHERE id = ${repositoryId}`
      const navigation = yield* CodeNavigation

      for (const kind of [undefined, ...(["call", "type", "inherit", "import", "other"] as const)]) {
        const expected = flat.filter((r) => r.name === "x" && (kind === undefined || r.kind === kind))
        const got: Array<unknown> = []
        let cursor: string | undefined = undefined
        do {
          const page: { references: ReadonlyArray<unknown>; next_cursor: string | null } = yield* navigation
            .references(key.user_id, repositoryId, { name: "x", kind, limit: 2, cursor })
          got.push(...page.references)
          cursor = page.next_cursor ?? undefined
        } while (cursor !== undefined)
        expect(got).toEqual(expected.map((r) => ({
          repository_id: repositoryId,
          path: r.path,
          name: r.name,
          kind: r.kind,
          line: r.line,
          column: r.column,
          enclosing: r.enclosing
        })))
      }

      const callers = yield* navigation.callers(key.user_id, repositoryId, {
        name: "x",
        limit: undefined,
        cursor: undefined
      })
      expect(callers.callers.map((c) => [c.path, c.caller, c.call_count, c.calls])).toEqual([
        ["src/a.ts", null, 1, [{ line: 7, column: 1 }]],
        ["src/a.ts", "g \"q\\", 2, [{ line: 2, column: 4 }, { line: 5, column: 3 }]],
        ["src/a.ts", "h{1,2}", 1, [{ line: 3, column: 7 }]],
        ["src/b.ts", "main", 1, [{ line: 1, column: 1 }]]
      ])

      // Across the caller's repositories (the alias route), one group a page: the same groups in (repository,
      // path, enclosing) order, the cursor moving from one repository to the next.
      const second = yield* insertRepository(key.user_id, "groups-2")
      yield* CodeIntelStore.pipe(Effect.flatMap((store) => store.replace(second, [], files)))
      yield* sql`UPDATE repositories SET last_indexed_commit = 'c0ffee', last_indexed_at = now() WHERE id = ${second}`
      const everyGroup: Array<unknown> = []
      let groupCursor: string | undefined = undefined
      do {
        const page: { callers: ReadonlyArray<{ repository_id: string; path: string; caller: string | null }> } & {
          next_cursor: string | null
        } = yield* navigation.callers(key.user_id, undefined, { name: "x", limit: 1, cursor: groupCursor })
        expect(page.callers.length).toBeLessThanOrEqual(1)
        everyGroup.push(...page.callers.map((c) => [c.repository_id, c.path, c.caller]))
        groupCursor = page.next_cursor ?? undefined
      } while (groupCursor !== undefined)
      const groups = callers.callers.map((c) => [c.path, c.caller])
      expect(everyGroup).toEqual(
        [repositoryId, second].sort().flatMap((id) => groups.map(([path, caller]) => [id, path, caller]))
      )
      yield* sql`DELETE FROM repositories WHERE id = ${second}`

      // The overview's counts: the first `cap` references in name order, whatever rows hold them.
      const database = yield* SearchDatabase
      const byName = [...flat].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      for (const cap of [1, 3, 7, 8, 9, 100]) {
        const counts = new Map<string, number>()
        for (const r of byName.slice(0, cap)) counts.set(r.name, (counts.get(r.name) ?? 0) + 1)
        const expected = [...counts].map(([name, n]) => ({ name, n, read: Math.min(cap, flat.length) }))
          .sort((a, b) => b.n - a.n || (a.name < b.name ? -1 : 1))
        const rows = yield* database.withConnection((run) =>
          Effect.gen(function*() {
            const reader = yield* NavigationStore.begin(run, "ordered")
            const rows = yield* NavigationStore.referenceCounts(reader, [repositoryId], cap, 10)
            yield* NavigationStore.commit(reader)
            return rows
          })
        )
        expect([cap, rows]).toEqual([cap, expected])
      }

      yield* CodeIntelStore.pipe(Effect.flatMap((store) => store.remove(repositoryId, ["src/a.ts"])))
      const left = yield* sql<{ path: string; name: string }>`
        SELECT path, name FROM code_references WHERE repository_id = ${repositoryId} ORDER BY path, name`
      expect(left).toEqual([{ path: "src/b.ts", name: "x" }, { path: "src/b.ts", name: "z" }])
    }))
})
