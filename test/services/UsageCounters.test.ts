import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import type { UsageOutcome } from "../../src/domain/ApiKey.js"
import { ApiKeyAdmin } from "../../src/services/ApiKeyAdmin.js"
import type { UsageRow } from "../../src/services/stores/UsageStore.js"
import { UsageStore } from "../../src/services/stores/UsageStore.js"
import { atTime } from "../utils/FixedClock.js"
import { testServices } from "../utils/TestApp.js"
import { TestDatabaseLive } from "../utils/TestDatabase.js"

const services = testServices({ USAGE_FLUSH_INTERVAL: "1 hour" }).pipe(Layer.provide(TestDatabaseLive))

const OUTCOMES: ReadonlyArray<UsageOutcome> = ["ok", "unauthorized", "forbidden", "rate_limited", "quota_exceeded"]

layer(services, { timeout: "60 seconds", excludeTestServices: true })("usage counters", (it) => {
  it.effect("concurrent audit flushes keep the monthly counters equal to the audit rows, and /usage reads them", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const admin = yield* ApiKeyAdmin
      const store = yield* UsageStore
      const keys = yield* Effect.all(
        Array.from({ length: 3 }, (_, i) => admin.create({ user_email: `counters-${i}@example.test` }))
      )
      // Rows around a month boundary (UTC), for three keys and for requests without a key.
      const endOfJune = Date.UTC(2027, 5, 30, 23, 59, 0)
      let seed = 7
      const next = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n
      const row = (): UsageRow => {
        const key = next(4)
        return {
          keyId: key === 3 ? null : keys[key]!.key_id,
          userId: key === 3 ? null : keys[key]!.user_id,
          route: "/api/v1/me",
          method: "GET",
          status: 200,
          latencyMs: 1,
          ip: "127.0.0.1",
          userAgent: null,
          outcome: OUTCOMES[next(OUTCOMES.length)]!,
          createdAt: new Date(endOfJune + next(120_000))
        }
      }
      const batches = Array.from({ length: 40 }, () => Array.from({ length: 1 + next(200) }, row))
      // Two at a time on separate connections, sharing keys, months and outcomes.
      yield* Effect.forEach(batches, (batch) => store.insertBatch(batch), { concurrency: 4, discard: true })

      const audit = yield* sql<{ key: string; month: string; outcome: string; n: number }>`
        SELECT key_id::text AS key, to_char(date_trunc('month', created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS month,
               outcome, count(*)::int AS n
        FROM api_key_usage WHERE key_id IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`
      const counters = yield* sql<{ key: string; month: string; outcome: string; n: number }>`
        SELECT key_id::text AS key, to_char(month, 'YYYY-MM-DD') AS month, outcome, requests::int AS n
        FROM api_key_usage_monthly ORDER BY 1, 2, 3`
      expect(counters).toEqual(audit)
      expect(new Set(counters.map((c) => c.month))).toEqual(new Set(["2027-06-01", "2027-07-01"]))

      // The report reads the counters, not the audit log: emptying the log changes nothing in it.
      const first = keys[0]!.key_id
      const expected = Object.fromEntries(
        audit.filter((a) => a.key === first && a.month === "2027-07-01").map((a) => [a.outcome, a.n])
      )
      const before = yield* admin.report(first).pipe(atTime(Date.UTC(2027, 6, 15)))
      expect(before.outcomes_this_month).toEqual(expected)
      yield* sql`DELETE FROM api_key_usage`
      const after = yield* admin.report(first).pipe(atTime(Date.UTC(2027, 6, 15)))
      expect(after.outcomes_this_month).toEqual(expected)
    }))
})
