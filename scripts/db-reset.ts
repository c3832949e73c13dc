// npm run db:reset — drop and recreate the local database, migrate it and load scripts/seed.sql.
// Refuses anything but a local URL: this is for a developer's own database only.
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { readFileSync } from "node:fs"
import { DatabaseUrl } from "../src/layers/EmbeddedPostgres.js"
import { PgLive } from "../src/layers/Sql.js"
import { applyMigrations, describeTarget, isLocalUrl, redactUrl, runScript, ScriptTargetLive } from "./DbCli.js"

const url = process.env.DATABASE_URL
if (url !== undefined && !isLocalUrl(url)) {
  process.stderr.write(`db:reset refuses a non-local database (${redactUrl(url)}): it drops everything.\n`)
  process.exit(2)
}

const recreate = Effect.gen(function*() {
  const target = new URL(Redacted.value(yield* DatabaseUrl))
  const name = decodeURIComponent(target.pathname.slice(1))
  if (name === "" || name === "postgres" || name.startsWith("template")) {
    return yield* Effect.dieMessage(
      `db:reset will not drop the maintenance database "${name}"; use a database of its own`
    )
  }
  const maintenance = new URL(target)
  maintenance.pathname = "/postgres"
  yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.zipRight(
      sql.unsafe(`DROP DATABASE IF EXISTS "${name.replaceAll("\"", "\"\"")}" WITH (FORCE)`),
      sql.unsafe(`CREATE DATABASE "${name.replaceAll("\"", "\"\"")}"`)
    )).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(maintenance.toString()), maxConnections: 1 })))
  yield* Console.log(`dropped and recreated database "${name}"`)
})

const seed = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(readFileSync(new URL("./seed.sql", import.meta.url), "utf8"))
  yield* Console.log("seeded from scripts/seed.sql")
})

runScript(
  Effect.gen(function*() {
    yield* Console.log(`resetting ${yield* describeTarget}`)
    yield* recreate
    yield* Effect.gen(function*() {
      yield* applyMigrations
      yield* seed
    }).pipe(Effect.provide(PgLive))
  }).pipe(Effect.provide(ScriptTargetLive)),
  url
)
