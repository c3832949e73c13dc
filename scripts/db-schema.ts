// npm run db:schema — migrate a scratch database on the target server (DATABASE_URL, or the embedded
// one), read its schema back and write it to migrations/_schema.sql; the scratch database is dropped.
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { DatabaseUrl } from "../src/layers/EmbeddedPostgres.js"
import { migrate } from "../src/layers/Migrations.js"
import { runScript, ScriptTargetLive } from "./DbCli.js"
import { dumpSchema, SCHEMA_FILE } from "./SchemaDump.js"

const withDatabase = (url: Redacted.Redacted, name: string) => {
  const parsed = new URL(Redacted.value(url))
  parsed.pathname = `/${name}`
  return Redacted.make(parsed.toString())
}

runScript(
  Effect.gen(function*() {
    const url = yield* DatabaseUrl
    const name = `kotadb_schema_${Date.now().toString(36)}`
    const admin = (statement: string) =>
      Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(statement)).pipe(
        Effect.provide(PgClient.layer({ url: withDatabase(url, "postgres"), maxConnections: 1 }))
      )
    yield* Effect.acquireRelease(
      admin(`CREATE DATABASE ${name}`),
      () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).pipe(Effect.orDie)
    )
    const text = yield* Effect.zipRight(migrate, dumpSchema).pipe(
      Effect.provide(PgClient.layer({ url: withDatabase(url, name), maxConnections: 1 }))
    )
    writeFileSync(fileURLToPath(new URL(`../${SCHEMA_FILE}`, import.meta.url)), text)
    yield* Console.log(`wrote ${SCHEMA_FILE}`)
  }).pipe(Effect.scoped, Effect.provide(ScriptTargetLive)),
  process.env.DATABASE_URL
)
