import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted } from "effect"
import { inject } from "vitest"
import { DatabaseUrl } from "../../src/layers/EmbeddedPostgres.js"

export const adminDatabaseUrl = () => Redacted.make(inject("adminDatabaseUrl"))

/** Runs `f` on a short-lived single connection to the admin database. */
export const withAdmin = <A, E>(f: (sql: SqlClient.SqlClient) => Effect.Effect<A, E>) =>
  Effect.flatMap(SqlClient.SqlClient, f).pipe(
    Effect.provide(PgClient.layer({ url: adminDatabaseUrl(), maxConnections: 1 })),
    Effect.orDie
  )

const withDatabase = (url: Redacted.Redacted, name: string) => {
  const parsed = new URL(Redacted.value(url))
  parsed.pathname = `/${name}`
  return Redacted.make(parsed.toString())
}

/** A fresh, empty database on the test server, dropped when the scope closes. */
export const freshDatabase = (prefix = "test") =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
      yield* withAdmin((sql) => sql.unsafe(`CREATE DATABASE ${name}`))
      return { name, url: withDatabase(adminDatabaseUrl(), name) }
    }),
    ({ name }) => withAdmin((sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
  )

/** `DatabaseUrl` pointing at a fresh database owned by one test file. */
export const TestDatabaseLive = Layer.scoped(DatabaseUrl, Effect.map(freshDatabase(), ({ url }) => url))
