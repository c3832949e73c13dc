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
  it.live("a call of a SQL function is prepared once per connection and reused; other statements are not", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      for (const status of ["ready", "queued", "syncing"]) {
        expect(yield* sql`SELECT * FROM repository_sync_state(${status})`).toHaveLength(1)
      }
      // Its best plan depends on the values: a generic plan must never be allowed to replace it.
      for (let i = 0; i < 6; i++) yield* sql`SELECT id FROM repositories WHERE user_id = ${crypto.randomUUID()}`
      const statements = (yield* prepared).map((row) => row.statement)
      expect(statements).toHaveLength(1)
      expect(statements[0]).toContain("repository_sync_state")
    }).pipe(Effect.provide(sqlWith({}))))

  it.live("a call whose result type a migration changed runs again, unprepared", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE FUNCTION prepared_probe(n int) RETURNS TABLE (a int) LANGUAGE sql AS 'SELECT n'`
      const call = sql<Record<string, number | null>>`SELECT * FROM prepared_probe(${1})`
      expect(yield* call).toEqual([{ a: 1 }])
      expect(yield* prepared).toHaveLength(1)
      // As a rolling deploy's release command would, while this process keeps running.
      yield* sql`DROP FUNCTION prepared_probe(int)`
      yield* sql`CREATE FUNCTION prepared_probe(n int) RETURNS TABLE (a int, b int) LANGUAGE sql AS 'SELECT n, n'`
      expect(yield* call).toEqual([{ a: 1, b: 1 }])
      expect(yield* call).toEqual([{ a: 1, b: 1 }])
      expect(yield* prepared).toEqual([])
    }).pipe(Effect.provide(sqlWith({}))))

  it.live("DATABASE_PREPARED_STATEMENTS=false prepares nothing (transaction-mode poolers)", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      expect(yield* sql`SELECT * FROM repository_sync_state(${"ready"})`).toEqual([{ repositorySyncState: "synced" }])
      expect(yield* prepared).toEqual([])
    }).pipe(Effect.provide(sqlWith({ DATABASE_PREPARED_STATEMENTS: "false" }))))
})
