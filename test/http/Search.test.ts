import { HttpClient, HttpClientRequest } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { expect, it } from "@effect/vitest"
import { Effect, Layer, Schedule } from "effect"
import { JobHandlersLive } from "../../src/layers/Worker.js"
import { runWorker } from "../../src/worker/Worker.js"
import type { GitServer } from "../utils/GitServer.js"
import { gitServer } from "../utils/GitServer.js"
import { createKey, get, withKey } from "../utils/keys.js"
import { testApp } from "../utils/TestApp.js"

const app = Layer.scopedDiscard(runWorker).pipe(
  Layer.provide(JobHandlersLive),
  Layer.provideMerge(testApp({
    GIT_ALLOW_PRIVATE_HOSTS: "true",
    WORKER_POLL_INTERVAL: "100 millis",
    SEARCH_MAX_CONNECTIONS: "2",
    SEARCH_MAX_IN_FLIGHT_PER_USER: "2"
  }))
)

const register = (key: string, gitUrl: string) =>
  Effect.gen(function*() {
    const response = yield* Effect.flatMap(HttpClient.HttpClient, (client) =>
      client.execute(
        HttpClientRequest.post("/api/v1/repositories").pipe(
          HttpClientRequest.setHeaders(withKey(key)),
          HttpClientRequest.bodyUnsafeJson({ git_url: gitUrl, branch: "main" })
        )
      ))
    expect(response.status).toBe(201)
    const body = (yield* response.json) as { repository_id: string; job_id: string }
    const sql = yield* SqlClient.SqlClient
    yield* sql<{ status: string }>`SELECT status FROM indexing_jobs WHERE id = ${body.job_id}`.pipe(
      Effect.map((rows) => rows[0]!.status),
      Effect.filterOrFail((status) => status === "completed"),
      Effect.retry(Schedule.spaced("50 millis")),
      Effect.timeout("60 seconds"),
      Effect.orDie
    )
    return body.repository_id
  })

interface Match {
  readonly repository_id: string
  readonly path: string
  readonly language: string | null
  readonly line: number
  readonly column: number
  readonly snippet: string
  readonly ranges: ReadonlyArray<[number, number]>
  readonly before?: ReadonlyArray<string>
  readonly after?: ReadonlyArray<string>
}
interface Results {
  readonly matches: ReadonlyArray<Match>
  readonly files?: ReadonlyArray<{ path: string; match_count: number; language: string | null }>
  readonly next_cursor: string | null
  readonly _tag?: string
  readonly message?: string
  readonly position?: number
}

const search = (key: string, params: Record<string, string>) =>
  Effect.flatMap(
    get(`/api/v1/search/code?${new URLSearchParams(params)}`, withKey(key)),
    (r) => Effect.map(r.json, (body) => ({ status: r.status, body: body as Results }))
  )

const paths = (results: Results) => [...new Set(results.matches.map((m) => m.path))]

// Long enough for several chunks: a match on line 1, 150, 151 and 300 and a line broken by no chunk.
const BIG = Array.from(
  { length: 300 },
  (_, i) => [0, 149, 150, 299].includes(i) ? `const needle${i} = "Needle here"` : `filler line ${i} ${"-".repeat(30)}`
).join("\n") + "\n"

const FILES = {
  "src/index.ts": "export const answer = 42\nexport const Answer = \"unknown\"\n",
  "src/server.js": "const srv = http.createServer()\nsrv.listen(80) // createServer\n",
  "docs/guide.md": "# Guide\n\nCall createServer to start.\n",
  "lib/big.ts": BIG,
  "types/index.d.ts": "export declare const answer: number\n"
}

const withGit = <A, E, R>(f: (server: GitServer) => Effect.Effect<A, E, R>) =>
  Effect.flatMap(gitServer(), (server) => f(server).pipe(Effect.provide(app)))

it.scopedLive(
  "the query language: every filter, pattern kind and page boundary, never across tenants",
  () =>
    withGit((server) =>
      Effect.gen(function*() {
        const alice = (yield* createKey({ rate_limit: 10_000 })).api_key
        const bob = (yield* createKey({ rate_limit: 10_000 })).api_key
        const repo = yield* Effect.promise(() => server.createRepository("acme/query"))
        yield* Effect.promise(() => repo.commit(FILES))
        const mine = yield* register(alice, repo.url)
        // Bob's copy of the same repository is his own; Alice never sees it and he never sees hers.
        const theirs = yield* register(bob, repo.url)

        const q = (query: string, extra: Record<string, string> = {}) => search(alice, { q: query, ...extra })
        const bobs = (query: string) =>
          Effect.map(
            search(bob, { q: query, limit: "100" }),
            (r) => [...r.body.matches.map((m) => m.repository_id), ...(r.body.files ?? []).map(() => theirs)]
          )

        // Case-insensitive by default; case:yes is exact.
        expect((yield* q("ANSWER")).body.matches.map((m) => m.path)).toEqual([
          "src/index.ts",
          "src/index.ts",
          "types/index.d.ts"
        ])
        expect((yield* q("Answer case:yes")).body.matches.map((m) => m.line)).toEqual([2])

        // Filters.
        expect(paths((yield* q("createServer path:src/**")).body)).toEqual(["src/server.js"])
        expect(paths((yield* q("createServer path:*.md")).body)).toEqual(["docs/guide.md"])
        expect(paths((yield* q("createServer path:docs")).body)).toEqual(["docs/guide.md"])
        expect(paths((yield* q("createServer -path:docs/")).body)).toEqual(["src/server.js"])
        expect(paths((yield* q("answer lang:ts")).body)).toEqual(["src/index.ts", "types/index.d.ts"])
        expect(paths((yield* q("createServer lang:javascript")).body)).toEqual(["src/server.js"])
        expect(paths((yield* q("createServer -lang:Markdown")).body)).toEqual(["src/server.js"])
        expect(paths((yield* q(`answer repo:${mine}`)).body)).toEqual(["src/index.ts", "types/index.d.ts"])
        expect((yield* q(`answer repo:${theirs}`)).body.matches).toEqual([])
        expect((yield* q("answer repo:Query")).body.matches).toHaveLength(3)

        // Patterns: phrase, regex (with ranges), several patterns in one file, no pattern.
        expect(paths((yield* q("\"const answer\"")).body)).toEqual(["src/index.ts", "types/index.d.ts"])
        const regex = (yield* q("/create(Server|Client)\\(/")).body.matches
        expect(regex.map((m) => [m.path, m.line, m.column, m.ranges])).toEqual([["src/server.js", 1, 18, [[17, 30]]]])
        expect(paths((yield* q("\"srv\" /listen\\(\\d+\\)/")).body)).toEqual(["src/server.js"])
        expect((yield* q("\"srv\" /listen\\(\\d+\\)/")).body.matches.map((m) => m.line)).toEqual([1, 2])
        expect((yield* q("\"answer\" /listen/")).body.matches).toEqual([])
        const listed = (yield* q("path:src/**")).body
        expect(listed.files!.map((f) => f.path)).toEqual(["src/index.ts", "src/server.js"])

        // type:file: one entry per file with its count of matching lines.
        expect((yield* q("needle type:file")).body.files).toEqual([
          { repository_id: mine, path: "lib/big.ts", language: "TypeScript", match_count: 4 }
        ])

        // Chunks: line numbers across chunk boundaries, 5 per file at most, context, resuming inside a file.
        const needles = (yield* q("needle")).body.matches
        expect(needles.map((m) => m.line)).toEqual([1, 150, 151, 300])
        expect(needles[0]!.ranges).toEqual([[6, 12], [17, 23]])
        const withContext = (yield* q("needle", { context: "2" })).body.matches
        expect(withContext[1]!.before).toEqual([
          `filler line 147 ${"-".repeat(30)}`,
          `filler line 148 ${"-".repeat(30)}`
        ])
        expect(withContext[1]!.after).toEqual([
          "const needle150 = \"Needle here\"",
          `filler line 151 ${"-".repeat(30)}`
        ])
        expect(withContext[3]!.after).toEqual([])
        const first = (yield* q("needle", { limit: "3" })).body
        expect(first.matches.map((m) => m.line)).toEqual([1, 150, 151])
        const rest = (yield* q("needle", { limit: "3", cursor: first.next_cursor! })).body
        expect(rest.matches.map((m) => m.line)).toEqual([300])
        expect(rest.next_cursor).toBeNull()
        const filler = (yield* q("filler type:file")).body.files
        expect(filler).toEqual([{ repository_id: mine, path: "lib/big.ts", language: "TypeScript", match_count: 296 }])
        expect((yield* q("filler")).body.matches).toHaveLength(5)

        // Punctuation without trigrams, and a literal with LIKE's special characters.
        expect(paths((yield* q("//")).body)).toEqual(["src/server.js"])
        expect((yield* q("%_")).body.matches).toEqual([])

        // Bob sees only his own copy, whatever the filter.
        for (
          const query of [
            "answer",
            "answer case:yes",
            "createServer path:src/**",
            "createServer -path:docs/",
            "answer lang:ts",
            "createServer -lang:Markdown",
            `answer repo:${mine}`,
            "\"const answer\"",
            "/create(Server|Client)/",
            "needle type:file",
            "path:src/**"
          ]
        ) {
          const seen = yield* bobs(query)
          expect(seen.filter((id) => id !== theirs), query).toEqual([])
        }

        // Bad queries are 400 InvalidQuery with the position.
        const bad = yield* q("createServer \"open")
        expect(bad.status).toBe(400)
        expect(bad.body).toMatchObject({ _tag: "InvalidQuery", position: 13 })
        expect(bad.body.message).toContain("position 13")
        expect((yield* q("lang:klingon x")).body).toMatchObject({ _tag: "InvalidQuery", position: 5 })
        expect((yield* q("/(a)\\1/")).status).toBe(400)
        expect((yield* q("/.*/")).status).toBe(400)
        expect((yield* q("x", { context: "6" })).status).toBe(400)
      })
    ),
  { timeout: 120_000 }
)

it.scopedLive(
  "one tenant's concurrent expensive searches leave other tenants and /health answering",
  () =>
    withGit((server) =>
      Effect.gen(function*() {
        const alice = (yield* createKey({ rate_limit: 10_000 })).api_key
        const bob = (yield* createKey({ rate_limit: 10_000 })).api_key
        const files: Record<string, string> = {}
        for (let i = 0; i < 400; i++) files[`f${i}.txt`] = `${"abc123 ".repeat(400)}\n`.repeat(5)
        const repo = yield* Effect.promise(() => server.createRepository("acme/heavy"))
        yield* Effect.promise(() => repo.commit(files))
        yield* register(alice, repo.url)
        const small = yield* Effect.promise(() => server.createRepository("acme/small"))
        yield* Effect.promise(() => small.commit({ "a.txt": "hello bob\n" }))
        yield* register(bob, small.url)

        // No literal to narrow by: each of these reads every chunk of Alice's repository.
        const heavy = search(alice, { q: "/[a-z]+\\d{3} [a-z]{4}/", limit: "100" })
        const results = yield* Effect.all(
          [
            Effect.all(Array.from({ length: 6 }, () => heavy), { concurrency: "unbounded" }),
            Effect.all([
              Effect.delay(get("/health"), "20 millis"),
              Effect.delay(get("/api/v1/repositories", withKey(bob)), "20 millis"),
              Effect.delay(search(bob, { q: "hello" }), "20 millis")
            ], { concurrency: "unbounded" })
          ],
          { concurrency: "unbounded" }
        )
        const [searches, [health, repositories, bobSearch]] = results
        // Two in flight per user at most: the others are refused at once.
        expect(searches.filter((s) => s.status === 429).length).toBeGreaterThanOrEqual(4)
        expect(searches.filter((s) => s.status === 429)[0]!.body).toMatchObject({ _tag: "TooManySearches" })
        expect(health.status).toBe(200)
        expect(repositories.status).toBe(200)
        expect(bobSearch.status).toBe(200)
        expect(bobSearch.body.matches.map((m) => m.snippet)).toEqual(["hello bob"])
      })
    ),
  { timeout: 120_000 }
)
