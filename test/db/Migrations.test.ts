import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { readdirSync } from "node:fs"
import { migrate, migrationsDirectory } from "../../src/layers/Migrations.js"
import { freshDatabase } from "../utils/TestDatabase.js"

const TABLES = [
  "api_keys",
  "api_key_rate_limits",
  "api_key_usage",
  "api_key_usage_monthly",
  "repositories",
  "repository_secrets",
  "indexing_jobs",
  "indexing_job_events",
  "webhook_deliveries",
  "token_usage",
  "indexed_files"
]

const files = readdirSync(migrationsDirectory).filter((f) => /^\d{4}_.*\.sql$/.test(f)).sort()

describe("migrations", () => {
  it.live("apply to an empty database, and a second run is a no-op", () =>
    Effect.gen(function*() {
      const { url } = yield* freshDatabase("mig")
      yield* Effect.gen(function*() {
        const applied = yield* migrate
        expect(applied.map(([id, name]) => `${String(id).padStart(4, "0")}_${name}.sql`)).toEqual(files)
        expect(yield* migrate).toEqual([])

        const sql = yield* SqlClient.SqlClient
        const tables = yield* sql<{ name: string; rls: boolean }>`
          SELECT c.relname AS name, c.relrowsecurity AS rls
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname = ANY(${TABLES})`
        expect(tables.map((t) => t.name).sort()).toEqual([...TABLES].sort())
        expect(tables.every((t) => t.rls)).toBe(true)
        const [view] = yield* sql<{ options: Array<string> | null }>`
          SELECT reloptions AS options FROM pg_class WHERE relname = 'repository_status_view' AND relkind = 'v'`
        expect(view?.options).toContain("security_invoker=true")
      }).pipe(Effect.provide(PgClient.layer({ url })))
    }).pipe(Effect.scoped))

  it.live("two processes migrating the same empty database at once both succeed", () =>
    Effect.gen(function*() {
      const { url } = yield* freshDatabase("mig")
      // Separate layers are separate pools, as two booting machines would have.
      const machine = () => migrate.pipe(Effect.provide(Layer.fresh(PgClient.layer({ url, maxConnections: 2 }))))
      const [a, b] = yield* Effect.all([machine(), machine()], { concurrency: 2 })
      expect([...a, ...b].map(([id]) => id).sort((x, y) => x - y)).toEqual(files.map((_, i) => i + 1))
      const rows = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT migration_id FROM kotadb_migrations`)
        .pipe(
          Effect.provide(PgClient.layer({ url }))
        )
      expect(rows).toHaveLength(files.length)
    }).pipe(Effect.scoped))
})
