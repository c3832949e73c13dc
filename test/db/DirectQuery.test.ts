import { SqlClient } from "@effect/sql"
import { SqlError } from "@effect/sql/SqlError"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlLive } from "../../src/layers/Sql.js"
import { DirectQuery } from "../../src/services/stores/DirectQuery.js"
import { SqlCounter, SqlCounterLive } from "../utils/SqlCounter.js"
import { testConfig } from "../utils/TestApp.js"
import { TestDatabaseLive } from "../utils/TestDatabase.js"

// One connection, so that the statements prepared by one call are visible to the next.
const sqlWith = (env: Record<string, string>) =>
  SqlLive.pipe(
    Layer.provide(TestDatabaseLive),
    Layer.provide(testConfig({ DATABASE_MAX_CONNECTIONS: "1", ...env })),
    Layer.provideMerge(SqlCounterLive),
    Layer.fresh
  )

const call = Effect.flatMap(
  DirectQuery,
  (direct) => direct.run<Record<string, unknown>>("SELECT * FROM repository_sync_state($1)", ["ready"])
)

describe("DirectQuery", () => {
  it.live("runs on the pool: Postgres's column names, and a function call prepared like the client's", () =>
    Effect.gen(function*() {
      expect(yield* call).toEqual([{ repository_sync_state: "synced" }])
      expect(yield* call).toEqual([{ repository_sync_state: "synced" }])
      const sql = yield* SqlClient.SqlClient
      const prepared = yield* sql<{ statement: string }>`SELECT statement FROM pg_prepared_statements`
      expect(prepared.map((row) => row.statement)).toEqual(["SELECT * FROM repository_sync_state($1)"])
    }).pipe(Effect.provide(sqlWith({}))))

  it.live("a statement Postgres refuses fails with a SqlError, not a defect", () =>
    Effect.gen(function*() {
      const direct = yield* DirectQuery
      const error = yield* Effect.flip(direct.run("SELECT 1 / $1::int", [0]))
      expect(error).toBeInstanceOf(SqlError)
      expect(String((error.cause as Error).message)).toContain("division by zero")
    }).pipe(Effect.provide(sqlWith({}))))

  it.live("reports a sql.execute span only when traces are exported", () =>
    Effect.gen(function*() {
      const spansOf = (env: Record<string, string>) =>
        Effect.gen(function*() {
          const counter = yield* SqlCounter
          const before = counter.count()
          yield* call
          return counter.count() - before
        }).pipe(Effect.provide(sqlWith(env)))
      expect(yield* spansOf({})).toBe(0)
      expect(yield* spansOf({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9" })).toBe(1)
    }))
})
