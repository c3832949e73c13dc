import { HttpClient, HttpClientRequest } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { UsageRecorder } from "../../src/services/UsageRecorder.js"
import { CODE_FILES, seedCodeIntel } from "../utils/codeIntelFixture.js"
import { insertRepository } from "../utils/fixtures.js"
import { createKey, get, withKey } from "../utils/keys.js"
import { testApp } from "../utils/TestApp.js"

interface Answer {
  readonly status: number
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any
}

const getJson = (key: string, path: string) =>
  Effect.flatMap(get(path, withKey(key)), (r) => Effect.map(r.json, (body): Answer => ({ status: r.status, body })))

const postJson = (key: string, path: string, body: unknown) =>
  Effect.flatMap(HttpClient.HttpClient, (client) =>
    client.execute(
      HttpClientRequest.post(path).pipe(
        HttpClientRequest.setHeaders(withKey(key)),
        HttpClientRequest.bodyUnsafeJson(body)
      )
    )).pipe(Effect.flatMap((r) => Effect.map(r.json, (json): Answer => ({ status: r.status, body: json }))))

const query = (params: Record<string, string>) => new URLSearchParams(params).toString()

const byText = (a: string, b: string) => a < b ? -1 : a > b ? 1 : 0

/** Every fixture symbol as name@path, in symbol search's order for `*`. */
const ALL_SYMBOLS = Object.entries(CODE_FILES)
  .flatMap(([path, file]) => (file.symbols ?? []).map((symbol) => ({ name: symbol.name, path })))
  .sort((a, b) =>
    byText(a.name.toLowerCase(), b.name.toLowerCase()) || byText(a.name, b.name) || byText(a.path, b.path)
  )
  .map((s) => `${s.name}@${s.path}`)

/** A key and a repository of its user holding the fixture. */
const tenant = Effect.gen(function*() {
  const email = `${crypto.randomUUID()}@example.test`
  const key = yield* createKey({ rate_limit: 100_000, user_email: email })
  const repositoryId = yield* insertRepository(key.user_id, "fixture")
  yield* seedCodeIntel(repositoryId)
  return { key: key.api_key, userId: key.user_id, email, repositoryId }
})

layer(testApp(), { timeout: "120 seconds", excludeTestServices: true })("code navigation over HTTP", (it) => {
  it.effect("symbol search: exact names first, then prefixes, then the rest; kind and lang narrow it", () =>
    Effect.gen(function*() {
      const { key, repositoryId } = yield* tenant
      const search = (params: Record<string, string>) => getJson(key, `/api/v1/search/symbols?${query(params)}`)
      const names = (answer: Answer) => answer.body.symbols.map((s: { name: string; path: string }) => s.name)

      const main = yield* search({ q: "main" })
      expect(main.status).toBe(200)
      expect(main.body.resolution).toBe("name-match")
      expect(main.body.symbols.map((s: { path: string }) => s.path)).toEqual([
        "app/main.py",
        "cmd/server.go",
        "src/index.ts"
      ])
      expect(main.body.symbols[2]).toEqual({
        repository_id: repositoryId,
        path: "src/index.ts",
        language: "TypeScript",
        name: "main",
        kind: "function",
        line: 5,
        column: 17,
        end_line: 9,
        end_column: 2,
        container: null,
        signature: "export function main(): void {"
      })
      expect(main.body.next_cursor).toBeNull()
      expect(names(yield* search({ q: "USER" }))).toEqual(["User", "UserRecord", "loadUser"])
      expect(names(yield* search({ q: "user", kind: "function" }))).toEqual(["loadUser"])
      expect(names(yield* search({ q: "main", lang: "go" }))).toEqual(["main"])
      expect((yield* search({ q: "main", lang: "py" })).body.symbols[0].path).toBe("app/main.py")
      // One or two characters: equal or starting with it only.
      expect(names(yield* search({ q: "se" }))).toEqual(["Serve", "Server"])
      expect(names(yield* search({ q: "zzz" }))).toEqual([])
      // LIKE's own characters are text.
      expect(names(yield* search({ q: "%" }))).toEqual([])
      expect(names(yield* search({ q: "helpe_" }))).toEqual([])
      expect(names(yield* search({ q: "helper_" }))).toEqual(["HELPER_NAME"])
      expect(names(yield* search({ q: "HELPER_N" }))).toEqual(["HELPER_NAME"])

      // Pages resume exactly where they stopped.
      const seen: Array<string> = []
      let cursor: string | null = null
      do {
        const pageAnswer: Answer = yield* search({ q: "*", limit: "3", ...(cursor === null ? {} : { cursor }) })
        expect(pageAnswer.body.symbols.length).toBeLessThanOrEqual(3)
        seen.push(...pageAnswer.body.symbols.map((s: { name: string; path: string }) => `${s.name}@${s.path}`))
        cursor = pageAnswer.body.next_cursor
      } while (cursor !== null)
      expect(seen).toEqual(ALL_SYMBOLS)
      const mains: Array<string> = []
      for (let page = yield* search({ q: "MAIN", limit: "1" });;) {
        mains.push(page.body.symbols[0].path)
        if (page.body.next_cursor === null) break
        page = yield* search({ q: "MAIN", limit: "1", cursor: page.body.next_cursor })
      }
      expect(mains).toEqual(["app/main.py", "cmd/server.go", "src/index.ts"])
    }))

  it.effect("symbol search past the ranked cap reads each group in order, with the same order and paging", () =>
    Effect.gen(function*() {
      const { key, userId } = yield* tenant
      const big = yield* insertRepository(userId, "big")
      const sql = yield* SqlClient.SqlClient
      // 2,400 names containing "handler": equal (3), starting with it, and containing it.
      yield* sql`
        INSERT INTO code_symbols (repository_id, path, ordinal, name, kind, language, line, col, end_line, end_col,
          signature)
        SELECT ${big}, 'gen/' || (i % 7) || '.ts', i, n.name, CASE WHEN i % 50 = 0 THEN 'class' ELSE 'function' END,
          'TypeScript', i + 1, 1, i + 1, 2, 'x'
        FROM generate_series(0, 2399) AS i
        CROSS JOIN LATERAL (SELECT CASE
          WHEN i < 3 THEN (ARRAY['Handler', 'handler', 'HANDLER'])[i + 1]
          WHEN i % 3 = 0 THEN 'handler' || lpad(i::text, 4, '0')
          WHEN i % 3 = 1 THEN 'on' || lpad(i::text, 4, '0') || 'Handler'
          ELSE 'x_handler_' || i END AS name) n`
      const rows = yield* sql<{ name: string; path: string; ordinal: number; kind: string }>`
        SELECT name, path, ordinal, kind FROM code_symbols WHERE repository_id = ${big}`
      const rank = (name: string) =>
        name.toLowerCase() === "handler" ? 0 : name.toLowerCase().startsWith("handler") ? 1 : 2
      const expected = (kind?: string) =>
        rows
          .filter((row) => kind === undefined || row.kind === kind)
          .sort((a, b) =>
            rank(a.name) - rank(b.name) || byText(a.name.toLowerCase(), b.name.toLowerCase()) ||
            byText(a.name, b.name) || byText(a.path, b.path) || a.ordinal - b.ordinal
          )
          .map((row) => `${row.name}@${row.path}`)
      const all = (params: Record<string, string>) =>
        Effect.gen(function*() {
          const out: Array<string> = []
          let cursor: string | null = null
          do {
            const answer: Answer = yield* getJson(
              key,
              `/api/v1/search/symbols?${
                query({ ...params, repository_id: big, ...(cursor === null ? {} : { cursor }) })
              }`
            )
            expect(answer.status).toBe(200)
            out.push(...answer.body.symbols.map((s: { name: string; path: string }) => `${s.name}@${s.path}`))
            cursor = answer.body.next_cursor
          } while (cursor !== null)
          return out
        })
      // Over the cap: groups read in order.
      expect(yield* all({ q: "handler", limit: "100" })).toEqual(expected())
      // Under it (kind=class narrows to 48): ranked from the trigram index.
      expect(yield* all({ q: "Handler", kind: "class", limit: "7" })).toEqual(expected("class"))
      // The first page of a large result.
      const first = yield* getJson(key, `/api/v1/search/symbols?${query({ q: "handler", repository_id: big })}`)
      expect(first.body.symbols.map((s: { name: string }) => s.name).slice(0, 4)).toEqual([
        "HANDLER",
        "Handler",
        "handler",
        "handler0003"
      ])
    }))

  it.effect("another tenant's repository is a 404 on every route, and its symbols never appear", () =>
    Effect.gen(function*() {
      const alice = yield* tenant
      const bob = yield* tenant
      const theirs = alice.repositoryId
      const routes = [
        `/api/v1/search/symbols?q=main&repository_id=${theirs}`,
        `/api/v1/repositories/${theirs}/files/src/index.ts`,
        `/api/v1/repositories/${theirs}/outline?path=src/index.ts`,
        `/api/v1/repositories/${theirs}/definitions?name=main`,
        `/api/v1/repositories/${theirs}/references?name=main`,
        `/api/v1/repositories/${theirs}/callers?name=main`,
        `/api/v1/repositories/${theirs}/dependencies?path=src/index.ts`,
        `/api/v1/repositories/${theirs}/overview`,
        `/api/v1/symbols?repository_id=${theirs}`,
        `/api/v1/symbols/main/callers?repository_id=${theirs}`,
        `/api/v1/symbols/main/impact?repository_id=${theirs}`,
        `/api/v1/files/symbols/src/index.ts?repository_id=${theirs}`,
        `/api/v1/codebase-overview?repository_id=${theirs}`
      ]
      for (const route of routes) {
        const answer = yield* getJson(bob.key, route)
        expect([route, answer.status, answer.body._tag]).toEqual([route, 404, "RepositoryNotFound"])
      }
      const impact = yield* postJson(bob.key, `/api/v1/repositories/${theirs}/impact`, { paths: ["src/util.ts"] })
      expect(impact.status).toBe(404)
      // Bob's own search never finds Alice's definitions.
      const found = yield* getJson(bob.key, "/api/v1/search/symbols?q=main&limit=100")
      expect(found.body.symbols.every((s: { repository_id: string }) => s.repository_id === bob.repositoryId)).toBe(
        true
      )
      const listed = yield* getJson(bob.key, "/api/v1/symbols?limit=100")
      expect(listed.body.symbols.every((s: { repository_id: string }) => s.repository_id === bob.repositoryId)).toBe(
        true
      )
      const callers = yield* getJson(bob.key, "/api/v1/symbols/formatName/callers")
      expect(callers.body.callers.every((c: { repository_id: string }) => c.repository_id === bob.repositoryId)).toBe(
        true
      )
      const overview = yield* getJson(bob.key, "/api/v1/codebase-overview")
      expect(overview.body.repositories).toBe(1)
      expect(overview.body.file_count).toBe(Object.keys(CODE_FILES).length)
    }))

  it.effect("a file at the indexed commit, whole or by lines across chunks", () =>
    Effect.gen(function*() {
      const { key, repositoryId } = yield* tenant
      const file = (path: string, lines?: string) =>
        getJson(
          key,
          `/api/v1/repositories/${repositoryId}/files/${path}${lines === undefined ? "" : `?lines=${lines}`}`
        )
      const util = CODE_FILES["src/util.ts"]!.content
      const utilLines = util.split(/(?<=\n)/)
      const whole = yield* file("src/util.ts")
      expect(whole.status).toBe(200)
      expect(whole.body).toEqual({
        repository_id: repositoryId,
        path: "src/util.ts",
        language: "TypeScript",
        size_bytes: Buffer.byteLength(util),
        line_count: 16,
        commit: "c0ffee".padEnd(40, "0"),
        start_line: 1,
        end_line: 16,
        content: util,
        truncated: false,
        resolution: "name-match"
      })
      // Lines 3 to 6 span the first two chunks (4 lines each).
      const range = yield* file("src/util.ts", "3-6")
      expect([range.body.start_line, range.body.end_line, range.body.content]).toEqual([
        3,
        6,
        utilLines.slice(2, 6).join("")
      ])
      expect((yield* file("src/util.ts", "12")).body.content).toBe(utilLines[11])
      const tail = yield* file("src/util.ts", "15-999")
      expect([tail.body.end_line, tail.body.content]).toEqual([16, utilLines.slice(14).join("")])
      expect((yield* file("README.md")).body.content).toBe(CODE_FILES["README.md"]!.content)
      expect((yield* file("app/helpers.py", "4")).body.content).toBe("HELPER_NAME = \"helper\"\n")

      const past = yield* file("src/util.ts", "17-20")
      expect([past.status, past.body._tag, past.body.line_count]).toEqual([400, "LineRangeOutsideFile", 16])
      expect((yield* file("src/util.ts", "5-3")).status).toBe(400)
      expect((yield* file("src/util.ts", "0-3")).status).toBe(400)
      expect((yield* file("src/util.ts", "a-b")).status).toBe(400)
      const missing = yield* file("src/nope.ts")
      expect([missing.status, missing.body._tag]).toEqual([404, "FileNotFound"])
      expect((yield* file("src")).status).toBe(404)
    }))

  it.effect("an outline nests definitions by range, and by container outside any range", () =>
    Effect.gen(function*() {
      const { key, repositoryId } = yield* tenant
      const outline = (path: string) => getJson(key, `/api/v1/repositories/${repositoryId}/outline?${query({ path })}`)
      type Node = { name: string; kind: string; children: Array<Node> }
      const shape = (nodes: Array<Node>): Array<unknown> =>
        nodes.map((n) => n.children.length === 0 ? n.name : { [n.name]: shape(n.children) })
      const user = yield* outline("src/models/user.ts")
      expect(user.status).toBe(200)
      expect(shape(user.body.symbols)).toEqual([{ UserRecord: ["name"] }, { User: ["fullName"] }, "loadUser"])
      expect(user.body.symbols[1]).toMatchObject({ kind: "class", line: 7, end_line: 13, column: 14 })
      expect(shape((yield* outline("cmd/server.go")).body.symbols)).toEqual([
        { Server: ["addr", "Serve"] },
        "listen",
        "main"
      ])
      expect(shape((yield* outline("app/main.py")).body.symbols)).toEqual([{ Greeter: ["greet"] }, "main"])
      const readme = yield* outline("README.md")
      expect([readme.status, readme.body.symbols]).toEqual([200, []])
      expect((yield* outline("nope.md")).status).toBe(404)
    }))

  it.effect("definitions by name: the asking file's first, then the files it imports", () =>
    Effect.gen(function*() {
      const { key, repositoryId } = yield* tenant
      const definitions = (params: Record<string, string>) =>
        getJson(key, `/api/v1/repositories/${repositoryId}/definitions?${query(params)}`)
      const where = (answer: Answer) =>
        answer.body.definitions.map((d: { path: string; relation: string }) => `${d.path}:${d.relation}`)
      expect(where(yield* definitions({ name: "helper" }))).toEqual(["app/helpers.py:other", "src/util.ts:other"])
      expect(where(yield* definitions({ name: "helper", path: "src/index.ts" }))).toEqual([
        "src/util.ts:imported",
        "app/helpers.py:other"
      ])
      expect(where(yield* definitions({ name: "helper", path: "app/helpers.py" }))).toEqual([
        "app/helpers.py:same_file",
        "src/util.ts:other"
      ])
      const first = yield* definitions({ name: "main", path: "app/main.py", limit: "1" })
      expect(where(first)).toEqual(["app/main.py:same_file"])
      const second = yield* definitions({
        name: "main",
        path: "app/main.py",
        limit: "2",
        cursor: first.body.next_cursor
      })
      expect([where(second), second.body.next_cursor]).toEqual([["cmd/server.go:other", "src/index.ts:other"], null])
      expect((yield* definitions({ name: "Main" })).body.definitions).toEqual([])
      expect((yield* definitions({ name: "main" })).body.definitions[0]).toMatchObject({
        repository_id: repositoryId,
        name: "main",
        kind: "function",
        language: "Python",
        line: 8,
        column: 5,
        signature: "def main():"
      })
    }))

  it.effect("references by name and kind, paged; callers grouped by enclosing definition", () =>
    Effect.gen(function*() {
      const { key, repositoryId } = yield* tenant
      const references = (params: Record<string, string>) =>
        getJson(key, `/api/v1/repositories/${repositoryId}/references?${query(params)}`)
      const at = (answer: Answer) =>
        answer.body.references.map((r: { path: string; line: number; kind: string }) => `${r.path}:${r.line}:${r.kind}`)
      const all = [
        "src/index.ts:1:import",
        "src/index.ts:7:call",
        "src/models/user.ts:1:import",
        "src/models/user.ts:11:call",
        "src/util.ts:12:call",
        "src/util.ts:13:call"
      ]
      expect(at(yield* references({ name: "formatName" }))).toEqual(all)
      expect(at(yield* references({ name: "formatName", kind: "call" }))).toEqual(all.filter((r) => r.endsWith("call")))
      const paged: Array<string> = []
      let answer = yield* references({ name: "formatName", limit: "4" })
      paged.push(...at(answer))
      answer = yield* references({ name: "formatName", limit: "4", cursor: answer.body.next_cursor })
      paged.push(...at(answer))
      expect([paged, answer.body.next_cursor]).toEqual([all, null])
      expect((yield* references({ name: "formatName" })).body.references[1]).toEqual({
        repository_id: repositoryId,
        path: "src/index.ts",
        name: "formatName",
        kind: "call",
        line: 7,
        column: 15,
        enclosing: "main"
      })

      const callers = yield* getJson(key, `/api/v1/repositories/${repositoryId}/callers?name=formatName`)
      expect(callers.status).toBe(200)
      expect(callers.body).toEqual({
        name: "formatName",
        callers: [
          {
            repository_id: repositoryId,
            path: "src/index.ts",
            caller: "main",
            definition: {
              kind: "function",
              line: 5,
              column: 17,
              end_line: 9,
              signature: "export function main(): void {"
            },
            calls: [{ line: 7, column: 15 }],
            call_count: 1
          },
          {
            repository_id: repositoryId,
            path: "src/models/user.ts",
            caller: "fullName",
            definition: { kind: "method", line: 10, column: 3, end_line: 12, signature: "fullName(): string {" },
            calls: [{ line: 11, column: 12 }],
            call_count: 1
          },
          {
            repository_id: repositoryId,
            path: "src/util.ts",
            caller: "helper",
            definition: {
              kind: "function",
              line: 11,
              column: 17,
              end_line: 14,
              signature: "export function helper(): void {"
            },
            calls: [{ line: 12, column: 3 }, { line: 13, column: 3 }],
            call_count: 2
          }
        ],
        next_cursor: null,
        resolution: "name-match"
      })
      // Top-level calls have no caller; paging goes group by group.
      const main = yield* getJson(key, `/api/v1/repositories/${repositoryId}/callers?name=main&limit=1`)
      expect(main.body.callers[0]).toMatchObject({ path: "src/index.ts", caller: null, definition: null })
      const next = yield* getJson(
        key,
        `/api/v1/repositories/${repositoryId}/callers?${
          query({ name: "main", limit: "1", cursor: main.body.next_cursor })
        }`
      )
      expect(next.body.callers[0]).toMatchObject({ path: "src/util.ts", caller: "rerun", definition: { line: 16 } })
      expect(next.body.next_cursor).toBeNull()
    }))

  it.effect("the import graph by depth, both ways, with its cycles and unresolved imports", () =>
    Effect.gen(function*() {
      const { key, repositoryId } = yield* tenant
      const graph = (params: Record<string, string>) =>
        getJson(key, `/api/v1/repositories/${repositoryId}/dependencies?${query(params)}`)
      const one = yield* graph({ path: "src/index.ts" })
      expect(one.status).toBe(200)
      expect(one.body).toMatchObject({
        path: "src/index.ts",
        direction: "dependencies",
        depth: 1,
        levels: [{ depth: 1, paths: ["src/models/user.ts", "src/util.ts"] }],
        unresolved: [{ module: "node:fs", line: 3 }],
        truncated: false,
        resolution: "name-match"
      })
      // The deepest files' edges back into the graph close the cycles.
      expect(one.body.cycles).toEqual([
        ["src/index.ts", "src/models/user.ts", "src/util.ts", "src/index.ts"],
        ["src/index.ts", "src/util.ts", "src/index.ts"]
      ])
      expect(one.body.edges).toEqual([
        { from: "src/index.ts", to: "src/models/user.ts" },
        { from: "src/index.ts", to: "src/util.ts" },
        { from: "src/models/user.ts", to: "src/util.ts" },
        { from: "src/util.ts", to: "src/index.ts" }
      ])
      const dependents = yield* graph({ path: "src/util.ts", direction: "dependents", depth: "2" })
      expect(dependents.body.levels).toEqual([{ depth: 1, paths: ["src/index.ts", "src/models/user.ts"] }])
      expect(dependents.body.unresolved).toEqual([])
      expect(dependents.body.cycles.length).toBe(2)
      const python = yield* graph({ path: "app/main.py", depth: "5" })
      expect(python.body).toMatchObject({
        levels: [{ depth: 1, paths: ["app/helpers.py"] }],
        edges: [{ from: "app/main.py", to: "app/helpers.py" }],
        cycles: [],
        unresolved: [{ module: "os", line: 2 }]
      })
      expect((yield* graph({ path: "nope.ts" })).status).toBe(404)
      expect((yield* graph({ path: "src/index.ts", depth: "6" })).status).toBe(400)
      expect((yield* graph({ path: "src/index.ts", direction: "up" })).status).toBe(400)
    }))

  it.effect("impact through imports and name-matched calls, by depth", () =>
    Effect.gen(function*() {
      const { key, repositoryId } = yield* tenant
      const impact = (body: unknown) => postJson(key, `/api/v1/repositories/${repositoryId}/impact`, body)
      const answer = yield* impact({ paths: ["src/models/user.ts"], depth: 1 })
      expect(answer.status).toBe(200)
      expect(answer.body).toEqual({
        paths: ["src/models/user.ts"],
        depth: 1,
        files: [
          { repository_id: repositoryId, path: "src/models/user.ts", depth: 0, via: [], names: [] },
          { repository_id: repositoryId, path: "src/index.ts", depth: 1, via: ["import", "call"], names: ["loadUser"] }
        ],
        truncated: false,
        resolution: "name-match"
      })
      // helper is called by name from Python too: name-matching crosses languages.
      const util = yield* impact({ paths: ["src/util.ts"] })
      expect(util.body.files.map((f: { path: string; depth: number; via: Array<string> }) =>
        `${f.depth}:${f.path}:${f.via.join("+")}`
      )).toEqual([
        "0:src/util.ts:",
        "1:app/main.py:call",
        "1:src/index.ts:import+call",
        "1:src/models/user.ts:import+call"
      ])
      const deeper = yield* impact({ paths: ["app/helpers.py"], depth: 3 })
      expect(deeper.body.files.map((f: { path: string; depth: number }) =>
        `${f.depth}:${f.path}`
      )).toEqual([
        "0:app/helpers.py",
        "1:app/main.py",
        "1:src/index.ts",
        "2:src/util.ts",
        "3:src/models/user.ts"
      ])
      expect((yield* impact({ paths: [] })).status).toBe(400)
      expect((yield* impact({ paths: ["a"], depth: 0 })).status).toBe(400)
      expect((yield* impact({})).status).toBe(400)
    }))

  it.effect("an overview: languages, counts and the most referenced defined names", () =>
    Effect.gen(function*() {
      const { key, repositoryId } = yield* tenant
      const answer = yield* getJson(key, `/api/v1/repositories/${repositoryId}/overview?limit=3`)
      expect(answer.status).toBe(200)
      const symbols = Object.values(CODE_FILES).reduce((n, f) => n + (f.symbols?.length ?? 0), 0)
      const references = Object.values(CODE_FILES).reduce((n, f) => n + (f.references?.length ?? 0), 0)
      expect(answer.body).toMatchObject({
        repository_id: repositoryId,
        repositories: 1,
        commit: "c0ffee".padEnd(40, "0"),
        file_count: 7,
        symbol_count: symbols,
        reference_count: references,
        counts_exact: true,
        references_read: references,
        resolution: "name-match"
      })
      expect(answer.body.languages.map((l: { language: string; files: number }) => `${l.language}:${l.files}`))
        .toEqual(["TypeScript:3", "Python:2", "Go:1", "Markdown:1"])
      expect(answer.body.symbol_kinds[0]).toEqual({ kind: "function", count: 10 })
      expect(answer.body.most_referenced.map((m: { name: string; references: number }) => `${m.name}:${m.references}`))
        .toEqual(["formatName:6", "helper:4", "main:3"])
      expect(answer.body.most_referenced[1]).toMatchObject({ definitions: 2, path: "app/helpers.py", line: 1 })
    }))

  it.effect("the original's routes answer as aliases over the caller's repositories", () =>
    Effect.gen(function*() {
      const { key, repositoryId, userId } = yield* tenant
      const second = yield* insertRepository(userId, "second")
      yield* seedCodeIntel(second, { "lib/format.ts": CODE_FILES["src/util.ts"]! })
      const paths = (answer: Answer) => answer.body.symbols.map((s: { path: string }) => s.path)

      const search = yield* getJson(key, "/api/v1/search/symbols?pattern=formatName")
      expect(paths(search).sort()).toEqual(["lib/format.ts", "src/util.ts"])
      const posted = yield* postJson(key, "/api/v1/search/symbols", { q: "main", lang: "go", limit: 5 })
      expect([posted.status, paths(posted)]).toEqual([200, ["cmd/server.go"]])
      const postedCursor = yield* postJson(key, "/api/v1/search/symbols", { q: "main", limit: 1 })
      const postedNext = yield* postJson(key, "/api/v1/search/symbols", {
        q: "main",
        limit: 1,
        cursor: postedCursor.body.next_cursor
      })
      expect(paths(postedNext)).toEqual(["cmd/server.go"])
      const missing = yield* getJson(key, "/api/v1/search/symbols")
      expect([missing.status, missing.body._tag]).toEqual([400, "InvalidQuery"])
      expect((yield* postJson(key, "/api/v1/search/symbols", {})).status).toBe(400)

      const listed = yield* getJson(key, `/api/v1/symbols?repository_id=${repositoryId}&limit=100`)
      expect(listed.body.symbols.map((s: { name: string; path: string }) => `${s.name}@${s.path}`)).toEqual(ALL_SYMBOLS)
      const typed = yield* getJson(key, "/api/v1/symbols?pattern=*&symbol_type=class")
      expect(typed.body.symbols.map((s: { name: string }) => s.name)).toEqual(["Greeter", "User"])

      const callers = yield* getJson(key, "/api/v1/symbols/capitalize/callers")
      expect(callers.body.callers.map((c: { repository_id: string; caller: string }) => c.caller)).toEqual([
        "formatName",
        "formatName"
      ])
      expect(new Set(callers.body.callers.map((c: { repository_id: string }) => c.repository_id))).toEqual(
        new Set([repositoryId, second])
      )
      const one = yield* getJson(key, `/api/v1/symbols/capitalize/callers?repository_id=${second}`)
      expect(one.body.callers).toMatchObject([{ repository_id: second, path: "lib/format.ts" }])

      const impact = yield* getJson(key, `/api/v1/symbols/loadUser/impact?repository_id=${repositoryId}`)
      expect(impact.status).toBe(200)
      expect(impact.body.files.map((f: { path: string; depth: number; via: Array<string> }) =>
        `${f.depth}:${f.path}:${f.via.join("+")}`
      )).toEqual([
        "0:src/models/user.ts:definition",
        "1:src/index.ts:reference",
        "2:src/util.ts:import+call"
      ])
      const capped = yield* getJson(key, "/api/v1/symbols/formatName/impact?limit=2&max_depth=1")
      expect([capped.body.files.length, capped.body.truncated]).toEqual([2, true])

      const fileSymbols = yield* getJson(key, "/api/v1/files/symbols/src/models/user.ts")
      expect(fileSymbols.body.symbols.map((s: { name: string }) =>
        s.name
      )).toEqual([
        "UserRecord",
        "name",
        "User",
        "fullName",
        "loadUser"
      ])
      expect((yield* getJson(key, "/api/v1/files/symbols/lib/nope.ts")).status).toBe(404)
      expect((yield* getJson(key, `/api/v1/files/symbols/lib/format.ts?repository_id=${repositoryId}`)).status).toBe(
        404
      )

      const overview = yield* getJson(key, "/api/v1/codebase-overview?top_symbols_limit=1")
      expect(overview.body).toMatchObject({
        repository_id: null,
        repositories: 2,
        commit: null,
        file_count: 8,
        most_referenced: [{ name: "formatName", references: 8 }]
      })
      const single = yield* getJson(key, `/api/v1/codebase-overview?repository_id=${second}`)
      expect(single.body).toMatchObject({ repository_id: second, repositories: 1, file_count: 1 })
    }))

  it.effect("bad input is a 400 in the one error shape, never a 500", () =>
    Effect.gen(function*() {
      const { key, repositoryId } = yield* tenant
      const base = `/api/v1/repositories/${repositoryId}`
      const otherCursor = (yield* getJson(key, `${base}/references?name=formatName&limit=1`)).body.next_cursor
      const nulCursor = Buffer.from(JSON.stringify(["references", "a\u0000b", 1])).toString("base64url")
      const bad = [
        "/api/v1/search/symbols?q=",
        `/api/v1/search/symbols?q=${"x".repeat(201)}`,
        "/api/v1/search/symbols?q=a%0Ab",
        "/api/v1/search/symbols?q=a%00b",
        "/api/v1/search/symbols?q=main&kind=lambda",
        "/api/v1/search/symbols?q=main&lang=klingon",
        "/api/v1/search/symbols?q=main&limit=0",
        "/api/v1/search/symbols?q=main&limit=101",
        "/api/v1/search/symbols?q=main&repository_id=nope",
        "/api/v1/search/symbols?q=main&cursor=garbage",
        `/api/v1/search/symbols?q=main&cursor=${otherCursor}`,
        `${base}/references?name=formatName&cursor=${nulCursor}`,
        `${base}/references?name=formatName&kind=calls`,
        `${base}/references?name=`,
        `${base}/references?name=a%00`,
        `${base}/definitions?name=x&cursor=${otherCursor}`,
        `${base}/callers?name=x&cursor=W10`,
        `${base}/callers`,
        `${base}/outline`,
        `${base}/outline?path=`,
        `${base}/dependencies?path=src/index.ts&depth=0`,
        `${base}/overview?limit=51`,
        `${base}/files/src/util.ts?lines=1-2-3`,
        "/api/v1/repositories/not-a-uuid/overview",
        "/api/v1/symbols/main/impact?max_depth=9",
        "/api/v1/codebase-overview?repository_id=x"
      ]
      for (const route of bad) {
        const answer = yield* getJson(key, route)
        expect([route, answer.status]).toEqual([route, 400])
        expect(typeof answer.body._tag).toBe("string")
        expect(typeof answer.body.message).toBe("string")
      }
      const cursorAnswer = yield* getJson(key, `${base}/references?name=formatName&cursor=${nulCursor}`)
      expect(cursorAnswer.body._tag).toBe("InvalidCursor")
      expect((yield* postJson(key, `${base}/impact`, { paths: ["a\u0000"] })).status).toBe(400)
      expect((yield* postJson(key, `${base}/impact`, { paths: Array.from({ length: 101 }, (_, i) => `f${i}`) })).status)
        .toBe(400)
      expect((yield* postJson(key, "/api/v1/search/symbols", { q: "main", limit: "5" })).status).toBe(400)
      expect((yield* postJson(key, "/api/v1/search/symbols", { q: "\ud800x" })).status).toBe(400)
    }))

  it.effect("navigation routes are read routes, POSTs included: audited like the rest of /api/v1", () =>
    Effect.gen(function*() {
      const { email, repositoryId, userId } = yield* tenant
      const reader = (yield* createKey({ user_email: email, scopes: ["read"] })).api_key
      const writer = (yield* createKey({ user_email: email, scopes: ["write"] })).api_key
      const impact = `/api/v1/repositories/${repositoryId}/impact`
      expect((yield* postJson(reader, impact, { paths: ["src/util.ts"] })).status).toBe(200)
      expect((yield* postJson(reader, "/api/v1/search/symbols", { q: "main" })).status).toBe(200)
      const refused = yield* postJson(writer, impact, { paths: ["src/util.ts"] })
      expect([refused.status, refused.body._tag]).toEqual([403, "Forbidden"])
      expect((yield* getJson(writer, "/api/v1/search/symbols?q=main")).status).toBe(403)
      yield* Effect.flatMap(UsageRecorder, (recorder) => recorder.flush)
      const sql = yield* SqlClient.SqlClient
      const audited = yield* sql<{ route: string; status: number }>`
        SELECT route, status FROM api_key_usage WHERE user_id = ${userId} AND route LIKE '%/impact' ORDER BY created_at`
      expect(audited.map((row) => row.status)).toEqual([200, 403])
    }))
})
