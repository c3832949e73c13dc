import * as PgClient from "@effect/sql-pg/PgClient"
import { SqlError } from "@effect/sql/SqlError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as String from "effect/String"
import pg from "pg"
import { AppConfig } from "../services/AppConfig.js"
import { DirectQuery } from "../services/stores/DirectQuery.js"
import { PoolStats } from "../services/stores/PoolStats.js"
import type { SearchStatement } from "../services/stores/SearchDatabase.js"
import { SearchDatabase } from "../services/stores/SearchDatabase.js"
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

const sqlError = (cause: unknown, message: string) => new SqlError({ cause, message })
const ignore = () => {}

/** The search pool (SearchDatabase): its own connections, each with the search statement timeout. */
const makeSearchDatabase = (url: string, config: AppConfig) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const pool = new pg.Pool({
        connectionString: url,
        max: config.searchMaxConnections,
        connectionTimeoutMillis: Duration.toMillis(config.databaseConnectTimeout),
        statement_timeout: Duration.toMillis(config.searchStatementTimeout),
        application_name: "kotadb-search"
      })
      pool.on("error", () => {})
      return pool
    }),
    (pool) => Effect.promise(() => pool.end()).pipe(Effect.interruptible, Effect.timeoutOption("1 second"))
  ).pipe(Effect.map((pool): SearchDatabase["Type"] => {
    const pids = new WeakMap<pg.PoolClient, number>()
    const connect = Effect.async<pg.PoolClient, SqlError>((resume) => {
      let interrupted = false
      pool.connect((cause, client, release) => {
        if (interrupted) return release()
        if (cause || client === undefined) return resume(Effect.fail(sqlError(cause, "search pool: no connection")))
        if (pids.has(client)) return resume(Effect.succeed(client))
        client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid", (error, result) => {
          if (error) {
            client.release(true)
            return resume(Effect.fail(sqlError(error, "search pool: no connection")))
          }
          pids.set(client, result.rows[0]!.pid)
          resume(Effect.succeed(client))
        })
      })
      return Effect.sync(() => {
        interrupted = true
      })
    })
    // A cancel request needs a connection the busy one is not: a short-lived client outside both pools.
    const cancel = (pid: number) =>
      Effect.tryPromise(async () => {
        const client = new pg.Client({ connectionString: url, application_name: "kotadb-search-cancel" })
        await client.connect()
        try {
          await client.query("SELECT pg_cancel_backend($1)", [pid])
        } finally {
          await client.end()
        }
      }).pipe(Effect.ignore, Effect.timeoutOption("5 seconds"))
    const statementOn = (client: pg.PoolClient): SearchStatement => (text, values = []) =>
      Effect.async((resume) => {
        client.query(text, values as Array<unknown>, (cause, result) => {
          resume(
            cause
              ? Effect.fail(sqlError(cause, "Failed to execute statement"))
              : Effect.succeed(result.rows)
          )
        })
        return cancel(pids.get(client)!)
      })
    return {
      withConnection: (use) =>
        Effect.acquireUseRelease(
          connect,
          (client) => {
            // A connection lost while checked out fails its statement; unheard, the error would end the process.
            client.on("error", ignore)
            return use(statementOn(client))
          },
          // A connection whose search failed or was interrupted may still be busy or inside a transaction.
          (client, exit) =>
            Effect.sync(() => {
              client.off("error", ignore)
              client.release(Exit.isSuccess(exit) ? undefined : true)
            })
        )
    }
  }))

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
  const search = yield* makeSearchDatabase(Redacted.value(url), config)
  return Layer.mergeAll(
    Layer.succeed(SearchDatabase, search),
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
