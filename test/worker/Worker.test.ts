import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Deferred, Effect, Layer, Queue, Schedule } from "effect"
import type { ClaimedJob, JobId } from "../../src/domain/Job.js"
import { PermanentJobError, RetryableJobError } from "../../src/domain/Job.js"
import { AppConfig } from "../../src/services/AppConfig.js"
import { JOBS_CHANNEL, JobStore } from "../../src/services/stores/JobStore.js"
import type { JobHandler } from "../../src/worker/JobHandlers.js"
import { JobHandlers } from "../../src/worker/JobHandlers.js"
import { runWorker } from "../../src/worker/Worker.js"
import { insertRepository, insertUser } from "../utils/fixtures.js"
import { testServices } from "../utils/TestApp.js"
import { TestDatabaseLive } from "../utils/TestDatabase.js"

/** Starts a worker with these handlers for the rest of the test's scope. */
const startWorker = (handler: JobHandler) =>
  Layer.build(Layer.scopedDiscard(runWorker).pipe(Layer.provide(JobHandlers.layer({ validate: handler }))))

const newRepository = Effect.suspend(() => Effect.flatMap(insertUser(), (user) => insertRepository(user)))

const jobRow = (id: JobId): Effect.Effect<
  { status: string; attempt: number; errorMessage: string | null; lockedBy: string | null },
  never,
  SqlClient.SqlClient
> =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql<{ status: string; attempt: number; errorMessage: string | null; lockedBy: string | null }>`
      SELECT status, attempt, error_message, locked_by FROM indexing_jobs WHERE id = ${id}`
  ).pipe(
    Effect.map((rows) => rows[0]!),
    Effect.orDie
  )

const repositoryStatus = (id: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql<{ status: string; syncState: string }>`SELECT status, sync_state FROM repository_status_view WHERE id = ${id}`
  ).pipe(
    Effect.map((rows) => rows[0]),
    Effect.orDie
  )

const events = (id: JobId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ eventType: string; context: { retry_in_ms?: number } }>`
      SELECT event_type, context FROM indexing_job_events WHERE job_id = ${id} ORDER BY id`).pipe(Effect.orDie)

const waitFor = <A, R>(check: Effect.Effect<A, never, R>, until: (a: A) => boolean, what: string, seconds = 30) =>
  check.pipe(
    Effect.repeat({ schedule: Schedule.spaced("50 millis"), until }),
    Effect.timeoutFail({ duration: `${seconds} seconds`, onTimeout: () => new Error(`timed out waiting for ${what}`) })
  )

const polling = testServices({
  WORKER_CONCURRENCY: "4",
  WORKER_POLL_INTERVAL: "100 millis",
  WORKER_LEASE_TIMEOUT: "2 seconds",
  WORKER_RESCUE_INTERVAL: "300 millis",
  JOB_RETRY_BASE_DELAY: "100 millis",
  JOB_RETRY_MAX_DELAY: "1 second"
}).pipe(Layer.provide(TestDatabaseLive))

layer(polling, { timeout: "120 seconds", excludeTestServices: true })("worker", (it) => {
  it.scoped("4 worker fibers run 1,000 jobs, each exactly once", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      // 20 repositories: a repository's jobs take turns on its status (SPEC: one job at a time per repository)
      const repositories = yield* Effect.forEach(Array.from({ length: 20 }), () => newRepository)
      yield* sql`
        INSERT INTO indexing_jobs (repository_id, job_type, payload)
        SELECT (${repositories}::uuid[])[1 + n % 20], 'validate', jsonb_build_object('n', n)
        FROM generate_series(1, 1000) AS n`
      const runs = new Map<string, number>()
      yield* startWorker((job: ClaimedJob) => Effect.sync(() => runs.set(job.id, (runs.get(job.id) ?? 0) + 1)))
      yield* waitFor(
        sql<{ n: number }>`SELECT count(*)::int AS n FROM indexing_jobs WHERE status = 'completed'`.pipe(
          Effect.map((rows) => rows[0]!.n),
          Effect.orDie
        ),
        (n) => n === 1000,
        "1,000 completions"
      )
      expect(runs.size).toBe(1000)
      expect([...runs.values()].every((n) => n === 1)).toBe(true)
      const states = yield* sql<{ status: string; syncState: string }>`
        SELECT DISTINCT status, sync_state FROM repository_status_view WHERE id = ANY(${repositories}::uuid[])`
      expect(states).toEqual([{ status: "ready", syncState: "synced" }])
    }))

  it.scoped("a job whose worker stopped heartbeating is re-claimed after the lease; the old worker's late transitions are refused", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const store = yield* JobStore
      const repository = yield* newRepository
      const [ghost] = yield* sql<{ id: JobId }>`
        INSERT INTO indexing_jobs (repository_id, job_type, status, attempt, locked_by, locked_at, started_at)
        VALUES (${repository}, 'validate', 'in_progress', 1, 'ghost-worker', now() - interval '1 minute', now())
        RETURNING id`
      const ran = yield* Deferred.make<number>()
      yield* startWorker((job) => Deferred.succeed(ran, job.attempt).pipe(Effect.as({ ok: true })))
      expect(yield* Deferred.await(ran)).toBe(2)
      yield* waitFor(jobRow(ghost!.id), (row) => row.status === "completed", "the rescued job to complete")

      expect(yield* store.finishAndClaim("ghost-worker", [{ id: ghost!.id, result: { stale: true } }], 0)).toEqual([])
      const [stored] = yield* sql<{ result: unknown }>`SELECT result FROM indexing_jobs WHERE id = ${ghost!.id}`
      expect(stored!.result).toEqual({ ok: true })
      expect(yield* store.fail("ghost-worker", ghost!.id, "late failure", null)).toBeUndefined()
      expect(yield* store.heartbeat("ghost-worker", [ghost!.id])).toEqual([])
      const row = yield* jobRow(ghost!.id)
      expect(row).toMatchObject({ status: "completed", attempt: 2, errorMessage: null })
      expect((yield* events(ghost!.id)).map((e) => e.eventType)).toEqual(["lease_expired"])
    }))

  it.scoped("a failed attempt and its event are written by one statement", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const store = yield* JobStore
      const repository = yield* newRepository
      const claim = (id?: JobId) =>
        id === undefined
          ? sql<{ id: JobId }>`
              INSERT INTO indexing_jobs (repository_id, job_type, status, attempt, locked_by, locked_at, started_at)
              VALUES (${repository}, 'validate', 'in_progress', 1, 'w-fail', now(), now()) RETURNING id`
          : sql<{ id: JobId }>`
              UPDATE indexing_jobs SET status = 'in_progress', attempt = attempt + 1, locked_by = 'w-fail',
                locked_at = now(), finished_at = NULL WHERE id = ${id} RETURNING id`
      const [job] = yield* claim()
      const retryAt = new Date(Date.now() + 60_000)
      expect(yield* store.fail("w-fail", job!.id, "boom", { at: retryAt, inMs: 60_000 })).toBe("queued")
      expect(yield* events(job!.id)).toEqual([
        { eventType: "retry_scheduled", context: { attempt: 1, retry_in_ms: 60_000 } }
      ])
      yield* claim(job!.id)
      expect(yield* store.fail("w-fail", job!.id, "gone", null)).toBe("failed")
      expect((yield* events(job!.id)).at(-1)).toEqual({ eventType: "failed", context: { attempt: 2, permanent: true } })
      expect(yield* jobRow(job!.id)).toMatchObject({
        status: "failed",
        attempt: 2,
        errorMessage: "gone",
        lockedBy: null
      })
    }))

  it.scoped("retryable failures back off on the configured schedule and end failed after max_attempts", () =>
    Effect.gen(function*() {
      const store = yield* JobStore
      const repository = yield* newRepository
      const id = yield* store.enqueue({ repositoryId: repository, jobType: "validate", maxAttempts: 3 })
      yield* startWorker((job) => Effect.fail(new RetryableJobError({ message: `attempt ${job.attempt} failed` })))
      yield* waitFor(jobRow(id), (row) => row.status === "failed", "the job to fail")
      expect(yield* jobRow(id)).toMatchObject({ status: "failed", attempt: 3, errorMessage: "attempt 3 failed" })
      const log = yield* events(id)
      expect(log.map((e) => e.eventType)).toEqual(["retry_scheduled", "retry_scheduled", "failed"])
      const [first, second] = log.map((e) => e.context.retry_in_ms ?? 0)
      expect(first).toBeGreaterThanOrEqual(80)
      expect(first).toBeLessThan(120)
      expect(second).toBeGreaterThanOrEqual(160)
      expect(second).toBeLessThan(240)
    }))

  it.scoped("a non-retryable error fails the job at once", () =>
    Effect.gen(function*() {
      const store = yield* JobStore
      const id = yield* store.enqueue({ repositoryId: yield* newRepository, jobType: "validate" })
      yield* startWorker(() => Effect.fail(new PermanentJobError({ message: "repository is gone" })))
      yield* waitFor(jobRow(id), (row) => row.status === "failed", "the job to fail")
      expect(yield* jobRow(id)).toMatchObject({ attempt: 1, errorMessage: "repository is gone", lockedBy: null })
    }))

  it.scoped("cancelling a running job interrupts its fiber", () =>
    Effect.gen(function*() {
      const store = yield* JobStore
      const started = yield* Deferred.make<void>()
      const interrupted = yield* Deferred.make<void>()
      const repository = yield* newRepository
      const id = yield* store.enqueue({ repositoryId: repository, jobType: "validate" })
      expect(yield* repositoryStatus(repository)).toEqual({ status: "queued", syncState: "pending" })
      yield* startWorker(() =>
        Deferred.succeed(started, undefined).pipe(
          Effect.zipRight(Effect.never),
          Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
        )
      )
      yield* Deferred.await(started)
      expect(yield* repositoryStatus(repository)).toEqual({ status: "syncing", syncState: "in_progress" })
      expect(yield* store.cancel(id)).toMatchObject({ previous: "in_progress" })
      yield* Deferred.await(interrupted).pipe(Effect.timeout("10 seconds"))
      expect(yield* jobRow(id)).toMatchObject({ status: "cancelled", lockedBy: null })
      // A cancelled job does not count: the repository has no job left, so it is back to queued.
      expect(yield* repositoryStatus(repository)).toEqual({ status: "queued", syncState: "pending" })
    }))
})

// One loop taking batches of 10: the jobs below are one batch, run one after another by one fiber.
const batched = testServices({
  WORKER_CONCURRENCY: "1",
  WORKER_BATCH_SIZE: "10",
  WORKER_POLL_INTERVAL: "100 millis"
}).pipe(Layer.provide(TestDatabaseLive))

layer(batched, { timeout: "60 seconds", excludeTestServices: true })("worker batches", (it) => {
  it.scoped("cancelling running jobs of a batch stops them alone; the rest of the batch runs, each job once", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const store = yield* JobStore
      const repository = yield* newRepository
      const ids = (yield* sql<{ id: JobId }>`
        INSERT INTO indexing_jobs (repository_id, job_type, payload)
        SELECT ${repository}, 'validate', jsonb_build_object('block', n % 2 = 0)
        FROM generate_series(1, 6) AS n RETURNING id`).map((row) => row.id)
      const blocked = yield* Queue.unbounded<JobId>()
      const runs = new Map<string, number>()
      let interrupted = 0
      yield* startWorker((job: ClaimedJob) =>
        Effect.suspend(() => {
          runs.set(job.id, (runs.get(job.id) ?? 0) + 1)
          return (job.payload as { block: boolean }).block
            ? Queue.offer(blocked, job.id).pipe(
              Effect.zipRight(Effect.never),
              Effect.onInterrupt(() => Effect.sync(() => interrupted++))
            )
            : Effect.void
        })
      )
      // Each blocking job is cancelled while it runs; the jobs after it in the batch still run.
      for (let i = 0; i < 3; i++) {
        const id = yield* Queue.take(blocked).pipe(Effect.timeout("10 seconds"))
        expect(yield* store.cancel(id)).toMatchObject({ previous: "in_progress" })
      }
      const statuses = sql<{ status: string; n: number }>`
        SELECT status, count(*)::int AS n FROM indexing_jobs WHERE id = ANY(${ids}::uuid[])
        GROUP BY status ORDER BY status`.pipe(Effect.orDie)
      yield* waitFor(statuses, (rows) => rows.find((r) => r.status === "completed")?.n === 3, "3 completions")
      expect(yield* statuses).toEqual([{ status: "cancelled", n: 3 }, { status: "completed", n: 3 }])
      expect(interrupted).toBe(3)
      expect(runs.size).toBe(6)
      expect([...runs.values()].every((n) => n === 1)).toBe(true)
      // The log holds the three cancellations; a completion is recorded on its row alone (0014).
      const logged = yield* sql<{ eventType: string; n: number }>`
        SELECT event_type, count(*)::int AS n FROM indexing_job_events
        WHERE job_id = ANY(${ids}::uuid[]) GROUP BY event_type`
      expect(logged).toEqual([{ eventType: "cancelled", n: 3 }])
    }))
})

// Polling every hour: only a NOTIFY can start a job within the test's time.
const notifyOnly = testServices({ WORKER_POLL_INTERVAL: "1 hour" }).pipe(Layer.provide(TestDatabaseLive))

layer(notifyOnly, { timeout: "60 seconds", excludeTestServices: true })("worker wake-ups", (it) => {
  it.scoped("a NOTIFY wake-up starts a job without waiting for the poll interval", () =>
    Effect.gen(function*() {
      const store = yield* JobStore
      const ran = yield* Deferred.make<void>()
      yield* startWorker(() => Deferred.succeed(ran, undefined))
      yield* Effect.sleep("500 millis") // the loops have polled once and now wait; LISTEN is up
      yield* store.enqueue({ repositoryId: yield* newRepository, jobType: "validate" })
      yield* Deferred.await(ran).pipe(Effect.timeout("10 seconds"))
    }))

  it.scoped("one NOTIFY for a burst of jobs wakes every idle loop, not one", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const { workerConcurrency } = yield* AppConfig
      const repository = yield* newRepository
      let running = 0
      const allRunning = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      yield* startWorker(() =>
        Effect.suspend(() => {
          if (++running === workerConcurrency) Deferred.unsafeDone(allRunning, Effect.void)
          return Deferred.await(release)
        })
      )
      yield* Effect.sleep("500 millis") // every loop has polled once (nothing) and now waits an hour
      yield* sql`
        WITH inserted AS (
          INSERT INTO indexing_jobs (repository_id, job_type)
          SELECT ${repository}, 'validate' FROM generate_series(1, ${2 * workerConcurrency})
          RETURNING id
        )
        SELECT count(*), pg_notify(${JOBS_CHANNEL}, 'validate') FROM inserted`
      // A loop whose claim came back full wakes the next one; without that, one loop runs alone.
      yield* Deferred.await(allRunning).pipe(Effect.timeout("10 seconds"))
      expect(running).toBe(workerConcurrency)
      yield* Deferred.succeed(release, undefined)
    }))
})

// The job span is only made when traces leave the process: with nothing to export, a span per job
// cost more CPU than a no-op job (bench/README.md, queue). The exporter itself is not needed to see it.
const spanOfHandler = Effect.gen(function*() {
  const store = yield* JobStore
  const seen = yield* Deferred.make<string>()
  yield* startWorker(() =>
    Effect.flatMap(
      Effect.option(Effect.currentSpan),
      (span) => Deferred.succeed(seen, span._tag === "Some" ? span.value.name : "none")
    )
  )
  yield* store.enqueue({ repositoryId: yield* newRepository, jobType: "validate" })
  return yield* Deferred.await(seen).pipe(Effect.timeout("20 seconds"))
})

const fastPolling = { WORKER_CONCURRENCY: "1", WORKER_POLL_INTERVAL: "100 millis" }

layer(testServices(fastPolling).pipe(Layer.provide(TestDatabaseLive)), {
  timeout: "60 seconds",
  excludeTestServices: true
})("job spans, traces not exported", (it) => {
  it.scoped("a job runs in no span of its own", () =>
    Effect.gen(function*() {
      expect(yield* spanOfHandler).not.toBe("job.process")
    }))
})

layer(
  testServices({ ...fastPolling, OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9" }).pipe(
    Layer.provide(TestDatabaseLive)
  ),
  { timeout: "60 seconds", excludeTestServices: true }
)("job spans, traces exported", (it) => {
  it.scoped("each job runs in its job.process span", () =>
    Effect.gen(function*() {
      expect(yield* spanOfHandler).toBe("job.process")
    }))
})
