import * as NodeContext from "@effect/platform-node/NodeContext"
import * as FileSystem from "@effect/platform/FileSystem"
import * as PgMigrator from "@effect/sql-pg/PgMigrator"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { fileURLToPath } from "node:url"

/** `migrations/` beside `src/` in a checkout, and beside `dist/src/` in a build (the build copies it). */
export const migrationsDirectory = fileURLToPath(new URL("../../migrations", import.meta.url))

/**
 * `Migrator.fromFileSystem` only loads `.ts`/`.js` migrations, so plain `NNNN_name.sql` files get this
 * loader. Each file runs as one multi-statement query inside the migrator's transaction.
 */
export const fromSqlDirectory = (directory: string): Migrator.Loader<FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const files = yield* fs.readDirectory(directory)
    return files
      .flatMap((file) => {
        const match = /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(file)
        if (match === null) return []
        const migration: Migrator.ResolvedMigration = [
          Number(match[1]),
          match[2]!,
          fs.readFileString(`${directory}/${file}`).pipe(
            Effect.map((text) => Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(text).raw))
          )
        ]
        return [migration]
      })
      .sort(([a], [b]) => a - b)
  }).pipe(
    Effect.mapError((cause) => new Migrator.MigrationError({ reason: "failed", message: String(cause) }))
  )

// Any constant works; it only has to be the same in every process that migrates this database.
const MIGRATION_LOCK = 7_283_914_051

const MIGRATIONS_TABLE = "kotadb_migrations"

/**
 * Applies pending migrations. The migrator locks its table, but creating that table on an empty
 * database is unguarded, so two machines booting at once could collide: an advisory lock held for
 * the whole run (the migrator's own transaction nests inside as a savepoint) serialises them.
 * The table is created here first because the migrator probes for it with a failing statement,
 * which would abort the surrounding transaction.
 */
export const migrate = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  return yield* sql.withTransaction(Effect.gen(function*() {
    yield* sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`
    yield* sql`CREATE TABLE IF NOT EXISTS ${sql(MIGRATIONS_TABLE)} (
      migration_id integer primary key,
      created_at timestamp with time zone not null default now(),
      name text not null
    )`
    return yield* PgMigrator.run({ loader: fromSqlDirectory(migrationsDirectory), table: MIGRATIONS_TABLE })
  }))
}).pipe(Effect.provide(NodeContext.layer))

export const MigrationsLive = Layer.effectDiscard(
  migrate.pipe(Effect.tap((applied) =>
    applied.length === 0
      ? Effect.logDebug("migrations: up to date")
      : Effect.logInfo("migrations applied").pipe(
        Effect.annotateLogs({ applied: applied.map(([id, name]) => `${id}_${name}`) })
      )
  ))
)
