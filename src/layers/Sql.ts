import { PgClient } from "@effect/sql-pg"
import { SqlError } from "@effect/sql/SqlError"
import { Effect, Layer, Schedule, String } from "effect"
import { AppConfig } from "../services/AppConfig.js"
import { DatabaseUrl } from "./EmbeddedPostgres.js"
import { MigrationsLive } from "./Migrations.js"

export const PgLive = Layer.unwrapEffect(Effect.gen(function*() {
  const url = yield* DatabaseUrl
  const config = yield* AppConfig
  return PgClient.layer({
    url,
    maxConnections: config.databaseMaxConnections,
    connectTimeout: config.databaseConnectTimeout,
    applicationName: "kotadb-control-plane",
    transformQueryNames: String.camelToSnake,
    transformResultNames: String.snakeToCamel,
    // jsonb columns hold foreign documents (GitHub payloads, settings): their keys are left alone.
    transformJson: false
  })
}))

// Postgres may be restarting, failing over or not yet up when a machine boots, and a connection can
// be cut while the pool is checked: keep trying for about 15 s before giving the boot up.
// A failed migration (MigrationError) is not retried.
const connectRetry = Schedule.exponential("250 millis").pipe(
  Schedule.union(Schedule.spaced("3 seconds")),
  Schedule.upTo("15 seconds"),
  Schedule.whileInput((error: unknown) => error instanceof SqlError),
  Schedule.tapInput((error: unknown) =>
    Effect.logWarning("database not reachable at boot; retrying").pipe(
      Effect.annotateLogs({ error: error instanceof Error ? error.message : `${error}` })
    )
  )
)

/** The SQL client with every migration applied before anything else may use it. */
export const SqlLive = MigrationsLive.pipe(Layer.provideMerge(PgLive), Layer.retry(connectRetry))
