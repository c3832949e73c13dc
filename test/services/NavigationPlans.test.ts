import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { ServicesLive } from "../../src/layers/Services.js"
import { SqlLive } from "../../src/layers/Sql.js"
import { CodeNavigation } from "../../src/services/CodeNavigation.js"
import { CodeSearch } from "../../src/services/CodeSearch.js"
import type { SearchStatement } from "../../src/services/stores/SearchDatabase.js"
import { SearchDatabase } from "../../src/services/stores/SearchDatabase.js"
import { seedCodeIntel } from "../utils/codeIntelFixture.js"
import { insertRepository } from "../utils/fixtures.js"
import { createKey } from "../utils/keys.js"
import { testConfig } from "../utils/TestApp.js"
import { TestDatabaseLive } from "../utils/TestDatabase.js"

interface PlanNode {
  readonly "Node Type": string
  readonly "Relation Name"?: string
  readonly Plans?: ReadonlyArray<PlanNode>
}

/** Every statement navigation sends, with the plan Postgres chose for it (EXPLAIN, then the statement itself). */
const explained: Array<{ readonly text: string; readonly plan: PlanNode }> = []

/** Every text sent on a search connection (one round trip each), EXPLAINs left out. */
const sent: Array<string> = []

const explaining = (run: SearchStatement): SearchStatement => <Row>(text: string, values?: ReadonlyArray<unknown>) =>
  Effect.zipRight(Effect.sync(() => sent.push(text)), explainingOnly(run)<Row>(text, values))

const explainingOnly = (run: SearchStatement): SearchStatement => (text, values) =>
  /^\s*(SET|BEGIN|COMMIT)\b/.test(text)
    ? run(text, values)
    : run<{ "QUERY PLAN": ReadonlyArray<{ Plan: PlanNode }> }>(`EXPLAIN (FORMAT JSON) ${text}`, values).pipe(
      Effect.tap((rows) => Effect.sync(() => explained.push({ text, plan: rows[0]!["QUERY PLAN"][0]!.Plan }))),
      Effect.zipRight(run(text, values))
    )

const ExplainingDatabase = Layer.effect(
  SearchDatabase,
  Effect.map(SearchDatabase, (database) => ({
    withConnection: (use) => database.withConnection((run) => use(explaining(run)))
  }))
)

// The services over the explaining search pool (the real one underneath).
const Explained = ServicesLive.pipe(
  Layer.provideMerge(ExplainingDatabase),
  Layer.provideMerge(SqlLive),
  Layer.provideMerge(testConfig()),
  Layer.provideMerge(TestDatabaseLive)
)

const TABLES = new Set(["code_symbols", "code_references", "code_imports", "indexed_files", "indexed_chunks"])

const scans = (node: PlanNode): Array<string> => [
  ...(node["Node Type"] === "Seq Scan" && node["Relation Name"] !== undefined ? [node["Relation Name"]] : []),
  ...(node.Plans ?? []).flatMap(scans)
]

layer(Explained, { timeout: "120 seconds", excludeTestServices: true })("navigation's query plans", (it) => {
  it.effect("every statement is served by an index: none reads a table whole", () =>
    Effect.gen(function*() {
      const key = yield* createKey()
      const repositoryId = yield* insertRepository(key.user_id, "plans")
      yield* seedCodeIntel(repositoryId)
      // Enough rows in other repositories that a sequential scan would read other tenants' data.
      const other = yield* insertRepository((yield* createKey()).user_id, "other")
      const sql = yield* SqlClient.SqlClient
      yield* sql`
        INSERT INTO code_symbols (repository_id, path, ordinal, name, kind, language, line, col, end_line, end_col,
          signature)
        SELECT ${other}, 'f' || (i / 50) || '.ts', i % 50, 'name' || i, 'function', 'TypeScript', 1, 1, 1, 2, 'x'
        FROM generate_series(0, 19999) AS i`
      yield* sql`
        INSERT INTO code_references (repository_id, path, name, ordinals, kinds, lines, cols, enclosings)
        SELECT ${other}, 'f' || (i / 50) || '.ts', 'name' || (i % 700), ARRAY[i % 50], '{c}', '{1}', '{1}', '{NULL}'
        FROM generate_series(0, 19999) AS i`
      yield* sql`ANALYZE code_symbols, code_references, code_imports, indexed_files, indexed_chunks`

      const navigation = yield* CodeNavigation
      const search = yield* CodeSearch
      const user = key.user_id
      const none = { kind: undefined, lang: undefined, repositoryId: undefined, limit: undefined, cursor: undefined }
      for (const q of ["main", "ma", "e", "*", "formatName"]) yield* navigation.searchSymbols(user, { ...none, q })
      yield* navigation.searchSymbols(user, { ...none, q: "user", kind: "function", lang: "TypeScript", limit: 1 })
      yield* navigation.file(user, repositoryId, "src/util.ts", { from: 3, to: 6 })
      yield* navigation.outline(user, repositoryId, "src/models/user.ts")
      yield* navigation.fileSymbols(user, undefined, "src/models/user.ts")
      yield* navigation.definitions(user, repositoryId, {
        name: "helper",
        path: "src/index.ts",
        limit: 1,
        cursor: undefined
      })
      yield* navigation.references(user, repositoryId, {
        name: "formatName",
        kind: "call",
        limit: 2,
        cursor: undefined
      })
      yield* navigation.callers(user, undefined, { name: "formatName", limit: undefined, cursor: undefined })
      yield* navigation.dependencies(user, repositoryId, { path: "src/index.ts", direction: "dependents", depth: 3 })
      yield* navigation.dependencies(user, repositoryId, { path: "src/index.ts", direction: undefined, depth: 3 })
      yield* navigation.impact(user, repositoryId, { paths: ["src/util.ts"], depth: 3 })
      yield* navigation.symbolImpact(user, undefined, { symbol: "loadUser", depth: 3, limit: undefined })
      yield* navigation.overview(user, undefined, { limit: undefined })
      yield* search.search(user, { q: "sym:main return lang:ts" })
      yield* search.search(user, { q: "sym:MAIN case:yes" })

      expect(explained.length).toBeGreaterThan(30)
      for (const { plan, text } of explained) {
        expect([text.replace(/\s+/g, " ").slice(0, 160), scans(plan).filter((t) => TABLES.has(t))]).toEqual([
          text.replace(/\s+/g, " ").slice(0, 160),
          []
        ])
      }
    }))

  it.effect("symbol search's round trips: its plan with BEGIN, then a SET only where the plan changes", () =>
    Effect.gen(function*() {
      const key = yield* createKey()
      const repositoryId = yield* insertRepository(key.user_id, "trips")
      yield* seedCodeIntel(repositoryId)
      const navigation = yield* CodeNavigation
      const none = { kind: undefined, lang: undefined, repositoryId: undefined, limit: undefined, cursor: undefined }
      const trips = (request: Parameters<typeof navigation.searchSymbols>[1]) =>
        Effect.gen(function*() {
          sent.length = 0
          yield* navigation.searchSymbols(key.user_id, request)
          return sent.map((text) => text.trim().split(/\s+/)[0]!)
        })
      // The page filled by exact names and prefixes: the scope and one read.
      expect(yield* trips({ ...none, q: "main", limit: 1 })).toEqual(["BEGIN", "SELECT", "SELECT", "COMMIT"])
      expect(yield* trips({ ...none, q: "main", repositoryId: repositoryId as never, limit: 1 })).toEqual([
        "BEGIN",
        "SELECT",
        "SELECT",
        "COMMIT"
      ])
      // Short of a page: the trigram probe, after steering to its plan.
      expect(yield* trips({ ...none, q: "user" })).toEqual(["BEGIN", "SELECT", "SELECT", "SET", "WITH", "COMMIT"])
    }))
})
