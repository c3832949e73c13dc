import { expect, layer } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { apiClient, testApp } from "../utils/TestApp.js"
import { OwnDatabaseLive, TestPostgres } from "../utils/TestPostgres.js"

layer(testApp({ HEALTH_CACHE_TTL: "1 second" }, OwnDatabaseLive), { timeout: "90 seconds", excludeTestServices: true })(
  "GET /health while Postgres is down",
  (it) => {
    it.effect("answers 503 down while the database is stopped, then ok again after it restarts", () =>
      Effect.gen(function*() {
        const postgres = yield* TestPostgres
        const client = yield* apiClient
        expect((yield* client.health.readiness()).status).toBe("ok")

        yield* postgres.stop
        const down = yield* Effect.flip(client.health.readiness())
        expect(down._tag).toBe("ServiceUnavailable")
        expect(down).toMatchObject({ status: "down", queue: null, database: { status: "error", latency_ms: null } })
        expect((yield* client.health.liveness()).status).toBe("ok")

        yield* postgres.start
        const recovered = yield* client.health.readiness().pipe(
          Effect.retry({ schedule: Schedule.spaced("200 millis"), times: 50 })
        )
        expect(recovered.status).toBe("ok")
        expect(recovered.queue).toMatchObject({ queued: 0, in_progress: 0 })
      }))
  }
)
