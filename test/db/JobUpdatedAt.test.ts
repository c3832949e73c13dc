import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import type { JobId } from "../../src/domain/Job.js"
import { SqlLive } from "../../src/layers/Sql.js"
import { JobStore } from "../../src/services/stores/JobStore.js"
import { insertRepository, insertUser } from "../utils/fixtures.js"
import { testConfig } from "../utils/TestApp.js"
import { TestDatabaseLive } from "../utils/TestDatabase.js"

// Since 0014 no trigger keeps indexing_jobs.updated_at: each of JobStore's writes sets it. Each step
// below backdates the job, runs one transition and expects updated_at to be now again.
layer(
  JobStore.Default.pipe(Layer.provideMerge(SqlLive), Layer.provide(TestDatabaseLive), Layer.provideMerge(testConfig())),
  { timeout: "60 seconds", excludeTestServices: true }
)("job transitions", (it) => {
  it.effect("every transition sets updated_at, and a completion writes no event", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const store = yield* JobStore
      const repository = yield* insertRepository(yield* insertUser())

      const newJob = Effect.map(
        sql<{ id: JobId }>`
          INSERT INTO indexing_jobs (repository_id, job_type) VALUES (${repository}, 'validate') RETURNING id`,
        (rows) => rows[0]!.id
      )
      const claim = Effect.map(store.finishAndClaim("w1", [], 1), (jobs) => jobs.map((job) => job.id))
      const touches = <A, E, R>(id: JobId, transition: Effect.Effect<A, E, R>) =>
        Effect.gen(function*() {
          yield* sql`UPDATE indexing_jobs SET updated_at = '2000-01-01' WHERE id = ${id}`
          const result = yield* transition
          const [row] = yield* sql<{ recent: boolean }>`
            SELECT updated_at > now() - interval '1 minute' AS recent FROM indexing_jobs WHERE id = ${id}`
          expect(row!.recent).toBe(true)
          return result
        })

      const done = yield* newJob
      expect(yield* touches(done, claim)).toEqual([done])
      expect(yield* touches(done, store.heartbeat("w1", [done]))).toEqual([done])
      expect(yield* touches(done, store.fail("w1", done, "boom", { at: new Date(), inMs: 0 }))).toBe("queued")
      expect(yield* touches(done, claim)).toEqual([done])
      expect(yield* touches(done, store.finishAndClaim("w1", [{ id: done, result: { ok: true } }], 0))).toEqual([])
      const logged = yield* sql<{ eventType: string }>`
        SELECT event_type FROM indexing_job_events WHERE job_id = ${done}`
      expect(logged.map((e) => e.eventType)).toEqual(["retry_scheduled"])

      const released = yield* newJob
      yield* claim
      expect(yield* touches(released, store.release("w1", [released]))).toBe(1)
      yield* claim
      expect(yield* touches(released, store.cancel(released))).toMatchObject({ previous: "in_progress" })

      const dead = yield* newJob
      yield* claim
      expect(yield* touches(dead, store.fail("w1", dead, "fatal", null))).toBe("failed")
      expect(yield* touches(dead, store.retry(dead))).toBe(true)
      yield* claim
      yield* sql`UPDATE indexing_jobs SET locked_at = now() - interval '1 hour' WHERE id = ${dead}`
      const rescued = yield* touches(dead, store.rescue(Duration.seconds(30)))
      expect(rescued.map((row) => row.id)).toEqual([dead])
    }).pipe(Effect.orDie))
})
