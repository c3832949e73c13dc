import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Either, FastCheck, Layer, Option } from "effect"
import { ApiKey } from "../../src/services/ApiKey.js"
import { ApiKeyAdmin } from "../../src/services/ApiKeyAdmin.js"
import { atTime } from "../utils/FixedClock.js"
import { testServices } from "../utils/TestApp.js"
import { TestDatabaseLive } from "../utils/TestDatabase.js"

const WINDOW_MS = 60_000
/** The rate limit counts whole seconds: the current one and the 60 before it (migration 0017). */
const countedSince = (ms: number) => (Math.floor(ms / 1000) - 60) * 1000

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
          // What the limiter counts: every request since the start of the second 60 s before this one's.
          const counted = admitted.filter((t) => t >= countedSince(now)).length
          if (Either.isRight(result)) {
            admitted.push(now)
            expect(result.right.remaining).toBe(limit - counted - 1)
          } else {
            expect(result.left._tag).toBe("RateLimited")
            // A refusal only when the counted span (at most 61 s) really holds `limit` admitted requests.
            expect(counted).toBe(limit)
          }
        }
        for (const start of admitted) {
          expect(admitted.filter((t) => t >= start && t < start + WINDOW_MS).length).toBeLessThanOrEqual(limit)
        }
      }
    }))

  it.effect("one key driven far past its limit for longer than a window: exact, and its state does not grow", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const limit = 200
      const key = yield* newKey(limit)
      const stateSize = Effect.map(
        sql<{ bytes: number }>`
          SELECT pg_column_size(l.*)::int AS bytes FROM api_key_rate_limits l WHERE key_id = ${key.key_id}`,
        (rows) => rows[0]!.bytes
      )
      const admitted: Array<number> = []
      const sizes: Array<number> = []
      let refused = 0
      const start = Date.UTC(2026, 6, 1, 9, 0, 0, 500)
      // 150 s at 20 requests a second (5 at a time, so that they share batches), 6 times the limit.
      for (let step = 0; step < 600; step++) {
        const now = start + step * 250
        const results = yield* Effect.all(Array.from({ length: 5 }, () => authenticateAt(key.api_key, now)), {
          concurrency: "unbounded"
        })
        for (const result of results) {
          if (Either.isRight(result)) admitted.push(now)
          else {
            expect(result.left._tag).toBe("RateLimited")
            refused++
          }
        }
        // Any refusal at this instant: the counted span holds the limit, this instant's admissions included.
        if (results.some(Either.isLeft)) {
          expect(admitted.filter((t) => t >= countedSince(now)).length).toBe(limit)
        }
        if (step % 100 === 99) sizes.push(yield* stateSize)
      }
      for (const t of admitted) {
        expect(admitted.filter((u) => u >= t && u < t + WINDOW_MS).length).toBeLessThanOrEqual(limit)
      }
      expect(admitted.length + refused).toBe(3000)
      // The first window admits the limit, and each later 61 s at most as much again.
      expect(admitted.length).toBeGreaterThanOrEqual(2 * limit)
      expect(refused).toBeGreaterThan(2000)
      // The key's state is the same size after 25 s as after 150 s, and smaller than a log of the
      // timestamps the window admits (200 × 8 bytes) would be, whatever the limit.
      expect(new Set(sizes).size).toBe(1)
      expect(sizes[0]!).toBeLessThan(400)
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
  it.effect("a key this process rotates or revokes is refused by the very next check, before its NOTIFY", () =>
    Effect.gen(function*() {
      const admin = yield* ApiKeyAdmin
      const now = Date.UTC(2026, 5, 15, 12, 0, 0)
      const key = yield* newKey(100)
      expect(Either.isRight(yield* authenticateAt(key.api_key, now))).toBe(true) // cached from here on
      const rotated = yield* admin.rotate(key.key_id)
      // No yield in between: the LISTEN round trip cannot have evicted the cached old secret yet.
      expect(Either.getLeft(yield* authenticateAt(key.api_key, now + 1)).pipe(Option.map((e) => e._tag)))
        .toEqual(Option.some("Unauthorized"))
      expect(Either.isRight(yield* authenticateAt(rotated.api_key, now + 2))).toBe(true)
      yield* admin.revoke(key.key_id)
      expect(Either.getLeft(yield* authenticateAt(rotated.api_key, now + 3)).pipe(Option.map((e) => e._tag)))
        .toEqual(Option.some("Unauthorized"))
    }))
})
