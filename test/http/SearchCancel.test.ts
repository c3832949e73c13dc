import { HttpServer } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Schedule } from "effect"
import { request } from "node:http"
import { JobHandlersLive } from "../../src/layers/Worker.js"
import { runWorker } from "../../src/worker/Worker.js"
import { gitServer } from "../utils/GitServer.js"
import { createKey, withKey } from "../utils/keys.js"
import { finished, register } from "../utils/repositoryFlow.js"
import { testApp } from "../utils/TestApp.js"

const app = Layer.scopedDiscard(runWorker).pipe(
  Layer.provide(JobHandlersLive),
  Layer.provideMerge(testApp({
    GIT_ALLOW_PRIVATE_HOSTS: "true",
    WORKER_POLL_INTERVAL: "100 millis",
    // Long enough that only the cancellation, not the timeout, can end the statement within the test's bound.
    SEARCH_STATEMENT_TIMEOUT: "120 seconds"
  }))
)

// Slow in Postgres by construction, not by the machine's speed: every line is a chunk of its own, of "a"s
// ending in "b", and the pattern is 999 "a"s then "b". Each chunk holds every trigram of the pattern, so the
// index keeps them all, and LIKE's recheck compares up to 1,000 characters at each of the line's offsets
// before it finds the match at the end. Postgres honours a cancel between rows, not inside one LIKE, so
// the lines are many and each is short enough that a cancel lands within a fraction of a second.
const LINE = 100_000
const LINES_PER_FILE = 10
const FILES = 8
const PATTERN = `${"a".repeat(999)}b`

/** The search statements running for this database on the search pool's connections. */
const running = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<{ pid: number }>`
    SELECT pid FROM pg_stat_activity
    WHERE datname = current_database() AND application_name = 'kotadb-search' AND state = 'active'
      AND query LIKE '%indexed_chunks%'`)

it.scopedLive(
  "a client that goes away cancels its search's statement in Postgres",
  () =>
    Effect.flatMap(gitServer(), (server) =>
      Effect.gen(function*() {
        const alice = (yield* createKey({ rate_limit: 10_000 })).api_key
        const repo = yield* Effect.promise(() => server.createRepository("acme/slow"))
        const files: Record<string, string> = {}
        const line = `${"a".repeat(LINE - 1)}b\n`
        for (let i = 0; i < FILES; i++) files[`slow${i}.txt`] = line.repeat(LINES_PER_FILE)
        yield* Effect.promise(() => repo.commit(files))
        const registered = yield* register(alice, repo.url, { max_file_size: 2 * LINE * LINES_PER_FILE })
        expect((yield* finished(registered.job_id)).status).toBe("completed")
        expect(yield* running).toEqual([])

        const address = (yield* HttpServer.HttpServer).address
        if (address._tag !== "TcpAddress") throw new Error("the test server listens on TCP")
        const client = request({
          host: address.hostname === "::" ? "127.0.0.1" : address.hostname,
          port: address.port,
          path: `/api/v1/search/code?${new URLSearchParams({ q: PATTERN })}`,
          headers: withKey(alice)
        })
        const answered = { value: false }
        client.on("response", () => {
          answered.value = true
        })
        client.on("error", () => {})
        client.end()

        // The statement is running in Postgres; the client hangs up while it does.
        const [statement] = yield* running.pipe(
          Effect.filterOrFail((rows) => rows.length > 0),
          Effect.retry(Schedule.spaced("20 millis")),
          Effect.timeout("30 seconds")
        )
        yield* Effect.sleep("300 millis")
        expect(answered.value).toBe(false)
        expect((yield* running).map((r) => r.pid)).toContain(statement!.pid)
        const abortedAt = Date.now()
        client.destroy()

        // Gone within a bound far below what the statement needs to finish on its own.
        yield* running.pipe(
          Effect.filterOrFail((rows) => !rows.some((r) => r.pid === statement!.pid)),
          Effect.retry(Schedule.spaced("20 millis")),
          Effect.timeout("3 seconds"),
          Effect.orElse(() => Effect.fail(new Error("the search's statement still runs 3 s after the client left")))
        )
        expect(Date.now() - abortedAt).toBeLessThan(Duration.toMillis("3 seconds"))
        expect(answered.value).toBe(false)
      }).pipe(Effect.provide(app))),
  { timeout: 180_000 }
)
