import { expect, layer } from "@effect/vitest"
import { Effect, Either, FastCheck, Layer } from "effect"
import { ApiKey } from "../../src/services/ApiKey.js"
import { ApiKeyAdmin } from "../../src/services/ApiKeyAdmin.js"
import { atTime } from "../utils/FixedClock.js"
import { testServices } from "../utils/TestApp.js"
import { TestDatabaseLive } from "../utils/TestDatabase.js"

const WINDOW_MS = 60_000

const services = testServices().pipe(Layer.provide(TestDatabaseLive))

const newKey = (limit: number, quota = 1_000_000) =>
  Effect.flatMap(
    ApiKeyAdmin,
    (admin) =>
      admin.create({ user_email: `${crypto.randomUUID()}@example.test`, rate_limit: limit, monthly_quota: quota })
  )

const authenticateAt = (key: string, ms: number) =>
  Effect.flatMap(ApiKey, (apiKeys) => apiKeys.authenticate(key, "127.0.0.1")).pipe(atTime(ms), Effect.either)

layer(services, { timeout: "120 seconds", excludeTestServices: true })("rate limit and quota", (it) => {
  it.effect("no 60-second window ever admits more than the limit, and nothing is refused below it", () =>
    Effect.gen(function*() {
      const arbitrary = FastCheck.record({
        limit: FastCheck.integer({ min: 1, max: 5 }),
        // gaps between consecutive requests: bursts (0), sub-window and beyond-window steps
        gaps: FastCheck.array(
          FastCheck.oneof(
            FastCheck.constant(0),
            FastCheck.integer({ min: 1, max: 5_000 }),
            FastCheck.integer({ min: 50_000, max: 70_000 })
          ),
          { minLength: 1, maxLength: 25 }
        )
      })
      const samples = FastCheck.sample(arbitrary, { numRuns: 25, seed: 20261127 })
      for (const { gaps, limit } of samples) {
        const key = yield* newKey(limit)
        const admitted: Array<number> = []
        let now = Date.UTC(2026, 5, 15, 12, 0, 0)
        for (const gap of gaps) {
          now += gap
          const result = yield* authenticateAt(key.api_key, now)
          const inWindow = admitted.filter((t) => t > now - WINDOW_MS).length
          if (Either.isRight(result)) {
            admitted.push(now)
            expect(result.right.remaining).toBe(limit - inWindow - 1)
          } else {
            expect(result.left._tag).toBe("RateLimited")
            // Exact: a refusal only when the window really holds `limit` admitted requests.
            expect(inWindow).toBe(limit)
          }
        }
        for (const start of admitted) {
          expect(admitted.filter((t) => t >= start && t < start + WINDOW_MS).length).toBeLessThanOrEqual(limit)
        }
      }
    }))

  it.effect("the monthly quota resets at the calendar month boundary (UTC)", () =>
    Effect.gen(function*() {
      const key = yield* newKey(100, 2)
      const lastSecondOfJanuary = Date.UTC(2027, 0, 31, 23, 59, 59)
      expect(Either.isRight(yield* authenticateAt(key.api_key, lastSecondOfJanuary))).toBe(true)
      const second = yield* authenticateAt(key.api_key, lastSecondOfJanuary + 100)
      expect(Either.getOrThrow(second).monthlyRemaining).toBe(0)
      const refused = yield* authenticateAt(key.api_key, lastSecondOfJanuary + 200)
      expect(Either.flip(refused)).toMatchObject(Either.right({ _tag: "QuotaExceeded", retry_after_seconds: 1 }))

      const february = yield* authenticateAt(key.api_key, Date.UTC(2027, 1, 1, 0, 0, 0))
      expect(Either.getOrThrow(february).monthlyRemaining).toBe(1)
      expect(Either.isRight(yield* authenticateAt(key.api_key, Date.UTC(2027, 1, 1, 0, 0, 1)))).toBe(true)
      expect(Either.isLeft(yield* authenticateAt(key.api_key, Date.UTC(2027, 1, 1, 0, 0, 2)))).toBe(true)
    }))
})
