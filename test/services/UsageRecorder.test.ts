import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer } from "effect"
import { UsageRecorder } from "../../src/services/UsageRecorder.js"
import { testServices } from "../utils/TestApp.js"
import { TestDatabaseLive } from "../utils/TestDatabase.js"

const services = testServices({ USAGE_FLUSH_INTERVAL: "10 millis" }).pipe(Layer.provide(TestDatabaseLive))

layer(services, { timeout: "60 seconds", excludeTestServices: true })("usage recorder", (it) => {
  it.effect("flush returns only once a batch the loop took before it is in the table", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const recorder = yield* UsageRecorder
      const route = `/test/${crypto.randomUUID()}`
      const written = sql<{ n: number }>`SELECT count(*)::int AS n FROM api_key_usage WHERE route = ${route}`.pipe(
        Effect.map((rows) => rows[0]!.n)
      )

      // Another session holds the table, so the loop's insert waits on it (reads still go through).
      const locked = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const holder = yield* sql`LOCK TABLE api_key_usage IN EXCLUSIVE MODE`.pipe(
        Effect.zipRight(Deferred.succeed(locked, undefined)),
        Effect.zipRight(Deferred.await(release)),
        sql.withTransaction,
        Effect.fork
      )
      yield* Deferred.await(locked)

      yield* recorder.record({
        keyId: null,
        userId: null,
        route,
        method: "GET",
        status: 401,
        latencyMs: 1,
        ip: null,
        userAgent: null,
        outcome: "unauthorized",
        createdAt: new Date()
      })
      // The loop has taken the row: its insert is now blocked on the lock.
      while ((yield* recorder.pending) > 0) yield* Effect.sleep("5 millis")

      const flushed = yield* recorder.flush.pipe(Effect.zipRight(written), Effect.fork)
      yield* Effect.sleep("300 millis")
      expect(yield* Fiber.poll(flushed), "flush returned while the loop's batch was unwritten").toEqual(
        expect.objectContaining({ _tag: "None" })
      )

      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)
      expect(yield* Fiber.join(flushed)).toBe(1)
    }))
})
