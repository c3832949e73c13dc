import { expect, layer } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { createKey, get, withKey } from "../utils/keys.js"
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
        const cached = yield* createKey({ rate_limit: 1000 })
        const uncached = yield* createKey({ rate_limit: 1000 })
        expect((yield* get("/api/v1/me", withKey(cached.api_key))).status).toBe(200)

        yield* postgres.stop
        // Authenticated requests get a clean 503 whether the key was cached (the rate-limit write
        // fails) or not (the lookup fails).
        for (const key of [cached.api_key, uncached.api_key]) {
          const response = yield* get("/api/v1/me", withKey(key))
          expect(response.status).toBe(503)
          expect(response.headers["retry-after"]).toBe("5")
          expect(yield* response.json).toEqual({
            _tag: "DatabaseUnavailable",
            message: "the database is unavailable; retry shortly"
          })
        }
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
        expect((yield* get("/api/v1/me", withKey(cached.api_key))).status).toBe(200)
      }))
  }
)
