import type * as PgClient from "@effect/sql-pg/PgClient"
import { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import pg from "pg"

/**
 * NOTIFY payloads of `channel`, on a connection of the stream's own. The stream FAILS when that
 * connection errors or ends, so whoever runs it can reconnect (every listener here is repeated with a
 * backoff). `PgClient.listen` swallows its connection's errors instead: after a database restart or a
 * failover its stream just goes quiet forever, and no wake-up would ever arrive again.
 */
export const listen = (client: PgClient.PgClient, channel: string): Stream.Stream<string, SqlError> =>
  Stream.asyncPush<string, SqlError>((emit) =>
    Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          const url = client.config.url
          if (url === undefined) throw new Error("the SQL client was not configured with a URL")
          const connection = new pg.Client({
            connectionString: Redacted.value(url),
            application_name: client.config.applicationName ?? "kotadb-control-plane"
          })
          connection.on("error", (cause) =>
            emit.fail(new SqlError({ cause, message: `LISTEN ${channel}: connection lost` })))
          connection.on("end", () =>
            emit.fail(new SqlError({ message: `LISTEN ${channel}: connection ended` })))
          connection.on("notification", (message) => {
            if (message.channel === channel && message.payload !== undefined) emit.single(message.payload)
          })
          await connection.connect()
          await connection.query(`LISTEN ${pg.escapeIdentifier(channel)}`)
          return connection
        },
        catch: (cause) => new SqlError({ cause, message: `LISTEN ${channel}: could not connect` })
      }),
      (connection) =>
        Effect.promise(() => {
          connection.removeAllListeners("end")
          connection.removeAllListeners("error")
          connection.on("error", () => {})
          return connection.end().catch(() => undefined)
          // A release runs uninterruptibly: without `interruptible` the timeout could not cut a hung end().
        }).pipe(Effect.interruptible, Effect.timeoutOption("1 second"))
    )
  )
