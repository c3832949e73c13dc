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
  readonly "Actual Rows"?: number
  readonly "Actual Loops"?: number
  readonly Plans?: ReadonlyArray<PlanNode>
}

/** Every statement navigation sends, with the plan Postgres chose for it (EXPLAIN, then the statement itself). */
const explained: Array<{ readonly text: string; readonly plan: PlanNode }> = []

/** Every text sent on a search connection (one round trip each), EXPLAINs left out. */
const sent: Array<string> = []

const explaining = (run: SearchStatement): SearchStatement => <Row>(text: string, values?: ReadonlyArray<unknown>) =>
  Effect.zipRight(Effect.sync(() => sent.push(text)), explainingOnly(run)<Row>(text, values))

/** Whether the EXPLAINs run the statement too (ANALYZE), for the rows each plan node really read. */
let analyze = false

const explainingOnly = (run: SearchStatement): SearchStatement => (text, values) =>
  /^\s*(SET|BEGIN|COMMIT)\b/.test(text)
    ? run(text, values)
    : run<{ "QUERY PLAN": ReadonlyArray<{ Plan: PlanNode }> }>(
      `EXPLAIN (${analyze ? "ANALYZE, " : ""}FORMAT JSON) ${text}`,
      values
    ).pipe(
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

/** The rows a plan read from `table`, over every loop of every node that reads it. */
const rowsRead = (node: PlanNode, table: string): number =>
  (node["Relation Name"] === table ? (node["Actual Rows"] ?? 0) * (node["Actual Loops"] ?? 1) : 0) +
  (node.Plans ?? []).reduce((sum, child) => sum + rowsRead(child, table), 0)

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

  it.effect("a page of definitions, references or callers reads about its own size, however many files use the name", () =>
    Effect.gen(function*() {
      const key = yield* createKey()
      const repositories = [
        yield* insertRepository(key.user_id, "hot-1"),
        yield* insertRepository(key.user_id, "hot-2")
      ]
      const sql = yield* SqlClient.SqlClient
      for (const id of repositories) {
        yield* sql`UPDATE repositories SET last_indexed_commit = 'c0ffee', last_indexed_at = now() WHERE id = ${id}`
        // 3,000 files that each call `hot` three times, from two enclosing definitions, and name it once as a type.
        yield* sql`
          INSERT INTO code_references (repository_id, path, name, ordinals, kinds, lines, cols, enclosings)
          SELECT ${id}, 'src/f' || lpad(i::text, 5, '0') || '.ts', 'hot', '{0,1,2,3}', '{c,c,t,c}', '{1,2,3,4}',
            '{1,1,1,1}', '{a,a,NULL,b}'
          FROM generate_series(1, 3000) AS i`
      }
      // `hot` defined in each of the first repository's files; src/f00010.ts imports two of them.
      yield* sql`
        INSERT INTO code_symbols (repository_id, path, ordinal, name, kind, language, line, col, end_line, end_col,
          signature)
        SELECT ${repositories[0]!}, 'src/f' || lpad(i::text, 5, '0') || '.ts', 0, 'hot', 'function', 'TypeScript',
          1, 1, 2, 1, 'function hot() {'
        FROM generate_series(1, 3000) AS i`
      yield* sql`
        INSERT INTO code_imports (repository_id, path, ordinal, module, module_stem, language, line, resolved_path)
        VALUES (${repositories[0]!}, 'src/f00010.ts', 0, './f02000', 'f02000', 'TypeScript', 1, 'src/f02000.ts'),
          (${repositories[0]!}, 'src/f00010.ts', 1, './f00005', 'f00005', 'TypeScript', 2, 'src/f00005.ts')`
      yield* sql`ANALYZE code_references, code_symbols, code_imports`
      const navigation = yield* CodeNavigation
      const read = <A>(request: Effect.Effect<A, unknown, never>) =>
        Effect.gen(function*() {
          explained.length = 0
          analyze = true
          const answer = yield* Effect.ensuring(request, Effect.sync(() => (analyze = false)))
          const rows = explained.reduce(
            (sum, { plan }) => sum + rowsRead(plan, "code_references") + rowsRead(plan, "code_symbols"),
            0
          )
          return { answer, rows }
        })

      const first = yield* read(navigation.references(key.user_id, repositories[0]!, {
        name: "hot",
        kind: undefined,
        limit: 10,
        cursor: undefined
      }))
      expect(first.answer.references.length).toBe(10)
      const later = yield* read(navigation.references(key.user_id, repositories[0]!, {
        name: "hot",
        kind: "call",
        limit: 10,
        cursor: first.answer.next_cursor!
      }))
      expect(later.answer.references.map((r) => [r.path, r.line])).toEqual([
        ["src/f00003.ts", 4],
        ...[4, 5, 6].flatMap((i) => [1, 2, 4].map((line) => [`src/f0000${i}.ts`, line]))
      ])
      const callers = yield* read(navigation.callers(key.user_id, undefined, {
        name: "hot",
        limit: 10,
        cursor: undefined
      }))
      expect(callers.answer.callers.map((c) => [c.path, c.caller, c.call_count])).toEqual(
        [1, 2, 3, 4, 5].flatMap((i) => [[`src/f0000${i}.ts`, "a", 2], [`src/f0000${i}.ts`, "b", 1]])
      )
      const nextCallers = yield* read(navigation.callers(key.user_id, undefined, {
        name: "hot",
        limit: 10,
        cursor: callers.answer.next_cursor!
      }))
      expect(nextCallers.answer.callers[0]!.path).toBe("src/f00006.ts")
      const definitions = yield* read(navigation.definitions(key.user_id, repositories[0]!, {
        name: "hot",
        path: "src/f00010.ts",
        limit: 4,
        cursor: undefined
      }))
      expect(definitions.answer.definitions.map((d) => [d.path, d.relation])).toEqual([
        ["src/f00010.ts", "same_file"],
        ["src/f00005.ts", "imported"],
        ["src/f02000.ts", "imported"],
        ["src/f00001.ts", "other"]
      ])
      const moreDefinitions = yield* read(navigation.definitions(key.user_id, repositories[0]!, {
        name: "hot",
        path: "src/f00010.ts",
        limit: 4,
        cursor: definitions.answer.next_cursor!
      }))
      expect(moreDefinitions.answer.definitions.map((d) => d.path)).toEqual(
        ["src/f00002.ts", "src/f00003.ts", "src/f00004.ts", "src/f00006.ts"]
      )
      // A page reads its own rows of code_references and code_symbols and one more for the next cursor (callers:
      // per repository); the 3,000 files of each repository that use the name are never read whole.
      const pages = { first, later, callers, nextCallers, definitions, moreDefinitions }
      expect(Object.entries(pages).filter(([, page]) => page.rows > 30).map(([name, page]) => [name, page.rows]))
        .toEqual([])
    }))
})
