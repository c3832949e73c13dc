import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlLive } from "../../src/layers/Sql.js"
import { testConfig } from "../utils/TestApp.js"
import { TestDatabaseLive } from "../utils/TestDatabase.js"

// One connection, so that every statement of a test meets the statements prepared before it.
const sqlWith = (env: Record<string, string>) =>
  SqlLive.pipe(
    Layer.provide(TestDatabaseLive),
    Layer.provide(testConfig({ DATABASE_MAX_CONNECTIONS: "1", ...env })),
    Layer.fresh
  )

// Parameterless, so sent with the simple protocol and never prepared itself.
const prepared = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => sql<{ statement: string }>`SELECT statement FROM pg_prepared_statements ORDER BY prepare_time`
)

describe("prepared statements", () => {
  it.live("a parameterised statement is prepared once per connection and reused", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      for (let i = 0; i < 3; i++) expect(yield* sql<{ n: number }>`SELECT ${i}::int + 1 AS n`).toEqual([{ n: i + 1 }])
      const statements = (yield* prepared).map((row) => row.statement)
      expect(statements.filter((text) => text.includes("::int + 1"))).toHaveLength(1)
    }).pipe(Effect.provide(sqlWith({}))))

  it.live("a statement whose result type a migration changed runs again, unprepared", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE prepared_probe (a int)`
      yield* sql`INSERT INTO prepared_probe VALUES (1)`
      const select = sql<Record<string, number | null>>`SELECT * FROM prepared_probe WHERE a = ${1}`
      expect(yield* select).toEqual([{ a: 1 }])
      // As a rolling deploy's release command would, while this process keeps running.
      yield* sql`ALTER TABLE prepared_probe ADD COLUMN b int`
      expect(yield* select).toEqual([{ a: 1, b: null }])
      expect(yield* select).toEqual([{ a: 1, b: null }])
    }).pipe(Effect.provide(sqlWith({}))))

  it.live("DATABASE_PREPARED_STATEMENTS=false prepares nothing (transaction-mode poolers)", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      expect(yield* sql<{ n: number }>`SELECT ${1}::int + 1 AS n`).toEqual([{ n: 2 }])
      expect(yield* prepared).toEqual([])
    }).pipe(Effect.provide(sqlWith({ DATABASE_PREPARED_STATEMENTS: "false" }))))
})
