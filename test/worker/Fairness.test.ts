import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer, Schedule } from "effect"
import type { ClaimedJob } from "../../src/domain/Job.js"
import { JobStore } from "../../src/services/stores/JobStore.js"
import { JobHandlers } from "../../src/worker/JobHandlers.js"
import { runWorker } from "../../src/worker/Worker.js"
import { insertRepository, insertUser } from "../utils/fixtures.js"
import { testServices } from "../utils/TestApp.js"
import { TestDatabaseLive } from "../utils/TestDatabase.js"

const CONCURRENCY = 2
const BATCH = 5

const services = testServices({
  WORKER_CONCURRENCY: String(CONCURRENCY),
  WORKER_BATCH_SIZE: String(BATCH),
  WORKER_POLL_INTERVAL: "100 millis"
}).pipe(Layer.provide(TestDatabaseLive))

const tenant = Effect.suspend(() => Effect.flatMap(insertUser(), (user) => insertRepository(user)))

/** `n` jobs of one repository in one statement, as a tenant's bulk reindex would queue them. */
const backlog = (repositoryId: string, n: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`
      INSERT INTO indexing_jobs (repository_id, job_type)
      SELECT ${repositoryId}, 'validate' FROM generate_series(1, ${n})`.pipe(Effect.orDie))

const queuedOf = (sql: SqlClient.SqlClient, repositoryId: string) =>
  sql<{ n: number }>`
    SELECT count(*)::int AS n FROM indexing_jobs WHERE repository_id = ${repositoryId} AND status = 'queued'`.pipe(
    Effect.map((rows) => rows[0]!.n),
    Effect.orDie
  )

layer(services, { timeout: "120 seconds", excludeTestServices: true })("fair claims across tenants", (it) => {
  it.scoped("tenant B's job starts while tenant A still has hundreds queued", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const store = yield* JobStore
      const [a, b] = [yield* tenant, yield* tenant]
      yield* backlog(a, 600)
      // The repository of each job, in the order the handlers start them.
      const started: Array<string> = []
      let queuedAtB = -1
      const handler = (job: ClaimedJob) =>
        Effect.gen(function*() {
          started.push(job.repositoryId)
          if (job.repositoryId === b) queuedAtB = yield* queuedOf(sql, a)
          yield* Effect.sleep("5 millis")
        })
      yield* Layer.build(
        Layer.scopedDiscard(runWorker).pipe(Layer.provide(JobHandlers.layer({ validate: handler })))
      )
      yield* Effect.sync(() => started.length).pipe(
        Effect.repeat({ schedule: Schedule.spaced("10 millis"), until: (n) => n >= 50 })
      )
      const enqueuedAt = started.length
      yield* store.enqueue({ repositoryId: b, jobType: "validate" })
      yield* Effect.sync(() => queuedAtB).pipe(
        Effect.repeat({ schedule: Schedule.spaced("10 millis"), until: (n) => n >= 0 }),
        Effect.timeout("10 seconds")
      )
      const position = started.indexOf(b)
      // Ahead of B's job: the batches the loops held when it was queued, then at most one of A's jobs
      // per loop (each loop's next claim takes B's turn or A's job of the same turn).
      expect(position - enqueuedAt).toBeLessThanOrEqual(CONCURRENCY * BATCH + CONCURRENCY)
      expect(queuedAtB).toBeGreaterThanOrEqual(400)
    }))

  it.scoped("tenants with backlogs take turns; a retried job takes a new turn", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const [a, b, c] = [yield* tenant, yield* tenant, yield* tenant]
      yield* backlog(a, 300)
      yield* backlog(b, 3)
      yield* backlog(c, 1)
      const order = yield* sql<{ repositoryId: string }>`
        SELECT repository_id FROM indexing_jobs
        WHERE status = 'queued' AND repository_id IN (${a}, ${b}, ${c})
        ORDER BY priority DESC, turn, id LIMIT 8`
      expect(order.map((row) => row.repositoryId)).toEqual([a, b, c, a, b, a, b, a])

      // A job of A's that failed and comes back joins the end of A's queue, not its head.
      const [failed] = yield* sql<{ id: string }>`
        UPDATE indexing_jobs SET status = 'failed', finished_at = now()
        WHERE id = (SELECT id FROM indexing_jobs WHERE repository_id = ${a} ORDER BY turn LIMIT 1)
        RETURNING id`
      const [requeued] = yield* sql<{ turn: number; last: number }>`
        WITH retried AS (
          UPDATE indexing_jobs SET status = 'queued', finished_at = NULL WHERE id = ${failed!.id} RETURNING turn
        )
        SELECT (SELECT turn FROM retried)::int AS turn,
               (SELECT max(turn) FROM indexing_jobs WHERE repository_id = ${a} AND status = 'queued')::int AS last`
      expect(requeued!.turn).toBe(requeued!.last + 1)
    }))

  it.scoped("the claim stays one index scan with a 10,000-job backlog of one tenant", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const [a, b] = [yield* tenant, yield* tenant]
      yield* backlog(a, 10_000)
      yield* backlog(b, 1)
      yield* sql`ANALYZE indexing_jobs`
      const [plan] = yield* sql<Record<string, unknown>>`
        EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)
        SELECT q.id FROM indexing_jobs q
        WHERE q.status = 'queued' AND q.run_at <= now()
        ORDER BY q.priority DESC, q.turn, q.id
        LIMIT 50
        FOR UPDATE SKIP LOCKED`
      const text = JSON.stringify(Object.values(plan!)[0])
      expect(text).toContain("\"Index Name\":\"indexing_jobs_claim_idx\"")
      expect(text).not.toContain("\"Node Type\":\"Sort\"")
      expect(text).not.toContain("\"Node Type\":\"Seq Scan\"")
      // It reads the head of the index, not the backlog.
      const rowsRead = [...text.matchAll(/"Actual Rows":(\d+)/g)].map((m) => Number(m[1]))
      expect(Math.max(...rowsRead)).toBeLessThanOrEqual(50)
    }))
})
