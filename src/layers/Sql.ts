import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, String } from "effect"
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

/** The SQL client with every migration applied before anything else may use it. */
export const SqlLive = MigrationsLive.pipe(Layer.provideMerge(PgLive))
