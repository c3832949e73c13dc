import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Layer, Redacted, Schedule } from "effect"
import { DatabaseUrl } from "../../src/layers/EmbeddedPostgres.js"
import { JobHandlers } from "../../src/worker/JobHandlers.js"
import { runWorker } from "../../src/worker/Worker.js"
import { insertRepository, insertUser } from "../utils/fixtures.js"
import { freePort } from "../utils/freePort.js"
import { productionEnv, spawnServer, waitHealthy } from "../utils/ServerProcess.js"
import { testServices } from "../utils/TestApp.js"
import { freshDatabase } from "../utils/TestDatabase.js"

const LEASE = "2 seconds"

const jobState = (id: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql<{ status: string; attempt: number; lockedBy: string | null; result: { ranBy?: number } | null }>`
      SELECT status, attempt, locked_by AS "lockedBy", result FROM indexing_jobs WHERE id = ${id}`
  ).pipe(
    Effect.map((rows) => rows[0]!),
    Effect.orDie
  )

const waitUntil = <A>(check: Effect.Effect<A, never, SqlClient.SqlClient>, until: (a: A) => boolean) =>
  check.pipe(
    Effect.filterOrFail(until, () => "not yet" as const),
    Effect.retry(Schedule.spaced("100 millis")),
    Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error("timed out") })
  )

/** A fresh database, migrated by a first server process, with one queued `validate` job. */
const setup = (jobMs: number, env: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const { url } = yield* freshDatabase("crash")
    const port = yield* Effect.promise(freePort)
    const server = yield* spawnServer({
      entry: "worker-fixture",
      env: {
        ...productionEnv(Redacted.value(url), port),
        FIXTURE_JOB_MS: String(jobMs),
        WORKER_LEASE_TIMEOUT: LEASE,
        WORKER_POLL_INTERVAL: "100 millis",
        ...env
      }
    })
    yield* waitHealthy(server, port)
    const job = yield* Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const repository = yield* insertRepository(yield* insertUser())
      const [row] = yield* sql<{ id: string }>`
        INSERT INTO indexing_jobs (repository_id, job_type) VALUES (${repository}, 'validate') RETURNING id`
      yield* sql`SELECT pg_notify('kotadb_jobs', 'validate')`
      return row!.id
    }).pipe(Effect.provide(PgClient.layer({ url })), Effect.orDie)
    return { url, server, job }
  })

describe("worker processes", () => {
  it.live(
    "a process killed with SIGKILL mid-job leaves a job another process completes after the lease",
    () =>
      Effect.gen(function*() {
        const { job, server, url } = yield* setup(60_000)
        yield* Effect.gen(function*() {
          const running = yield* waitUntil(jobState(job), (row) => row.status === "in_progress")
          expect(running.lockedBy).toContain(`:${server.child.pid}:`)
          server.child.kill("SIGKILL")
          yield* Effect.promise(() => server.exited)

          const done = yield* Deferred.make<number>()
          yield* Layer.build(
            Layer.scopedDiscard(runWorker).pipe(
              Layer.provide(JobHandlers.layer({ validate: (j) => Deferred.succeed(done, j.attempt) })),
              Layer.provide(testServices({ WORKER_LEASE_TIMEOUT: LEASE, WORKER_RESCUE_INTERVAL: "200 millis" })),
              Layer.provide(Layer.succeed(DatabaseUrl, url))
            )
          )
          expect(yield* Deferred.await(done)).toBe(2)
          const finished = yield* waitUntil(jobState(job), (row) => row.status === "completed")
          expect(finished).toMatchObject({ status: "completed", attempt: 2, lockedBy: null })
        }).pipe(Effect.provide(PgClient.layer({ url })))
      }).pipe(Effect.scoped),
    120_000
  )

  it.live("SIGTERM lets a running job finish, then the process exits 0", () =>
    Effect.gen(function*() {
      const { job, server, url } = yield* setup(1_500)
      yield* Effect.gen(function*() {
        yield* waitUntil(jobState(job), (row) => row.status === "in_progress")
        server.child.kill("SIGTERM")
        expect(yield* Effect.promise(() => server.exited)).toBe(0)
        const row = yield* jobState(job)
        expect(row).toMatchObject({ status: "completed", attempt: 1, result: { ranBy: server.child.pid } })
      }).pipe(Effect.provide(PgClient.layer({ url })))
    }).pipe(Effect.scoped), 120_000)

  it.live(
    "a job longer than WORKER_DRAIN_TIMEOUT is handed back to the queue, its attempt not counted",
    () =>
      Effect.gen(function*() {
        const { job, server, url } = yield* setup(60_000, { WORKER_DRAIN_TIMEOUT: "500 millis" })
        yield* Effect.gen(function*() {
          yield* waitUntil(jobState(job), (row) => row.status === "in_progress")
          server.child.kill("SIGTERM")
          expect(yield* Effect.promise(() => server.exited)).toBe(0)
          expect(yield* jobState(job)).toMatchObject({ status: "queued", attempt: 0, lockedBy: null })
        }).pipe(Effect.provide(PgClient.layer({ url })))
      }).pipe(Effect.scoped),
    120_000
  )
})
