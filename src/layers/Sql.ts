import { PgClient } from "@effect/sql-pg"
import { SqlError } from "@effect/sql/SqlError"
import { Duration, Effect, Layer, Redacted, Schedule, String } from "effect"
import type pg from "pg"
import { AppConfig } from "../services/AppConfig.js"
import { DirectQuery } from "../services/stores/DirectQuery.js"
import { PoolStats } from "../services/stores/PoolStats.js"
import { DatabaseUrl } from "./EmbeddedPostgres.js"
import { MigrationsLive } from "./Migrations.js"
import { makePool } from "./PreparedPool.js"

const makeDirectQuery = (pool: pg.Pool, traced: boolean): DirectQuery["Type"] => ({
  run: <Row>(text: string, values: ReadonlyArray<unknown>) => {
    const run = Effect.async<ReadonlyArray<Row>, SqlError>((resume) => {
      pool.query(text, values as Array<unknown>, (cause, result) => {
        resume(
          cause
            ? Effect.fail(new SqlError({ cause, message: "Failed to execute statement" }))
            : Effect.succeed(result.rows as ReadonlyArray<Row>)
        )
      })
    })
    return traced
      ? Effect.withSpan(run, "sql.execute", {
        kind: "client",
        captureStackTrace: false,
        attributes: { "db.system.name": "postgresql", "db.query.text": text }
      })
      : run
  }
})

export const PgLive = Layer.unwrapScoped(Effect.gen(function*() {
  const url = yield* DatabaseUrl
  const config = yield* AppConfig
  // Built here rather than by PgClient.layer so that its clients can prepare their statements.
  const acquire = Effect.acquireRelease(
    Effect.sync(() => {
      const pool = makePool({
        connectionString: Redacted.value(url),
        max: config.databaseMaxConnections,
        connectionTimeoutMillis: Duration.toMillis(config.databaseConnectTimeout),
        application_name: "kotadb-control-plane",
        preparedStatements: config.databasePreparedStatements
      })
      pool.on("error", () => {}) // an idle client's lost connection; the pool replaces it
      return pool
    }),
    (pool) => Effect.promise(() => pool.end()).pipe(Effect.interruptible, Effect.timeoutOption("1 second"))
  ).pipe(
    Effect.tap((pool) =>
      Effect.tryPromise({
        try: () => pool.query("SELECT 1"),
        catch: (cause) => new SqlError({ cause, message: "PgClient: Failed to connect" })
      }).pipe(
        Effect.timeoutFail({
          duration: config.databaseConnectTimeout,
          onTimeout: () =>
            new SqlError({ cause: new Error("Connection timed out"), message: "PgClient: Connection timed out" })
        })
      )
    )
  )
  const pool = yield* acquire
  return Layer.mergeAll(
    PgClient.layerFromPool({
      acquire: Effect.succeed(pool),
      applicationName: "kotadb-control-plane",
      transformQueryNames: String.camelToSnake,
      transformResultNames: String.snakeToCamel,
      // jsonb columns hold foreign documents (GitHub payloads, settings): their keys are left alone.
      transformJson: false
    }),
    Layer.succeed(DirectQuery, makeDirectQuery(pool, config.tracesExported)),
    Layer.succeed(PoolStats, {
      max: config.databaseMaxConnections,
      read: () => ({
        total: pool.totalCount,
        idle: pool.idleCount,
        inUse: pool.totalCount - pool.idleCount,
        waiting: pool.waitingCount
      })
    })
  )
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
