// npm run db:migrate — apply pending migrations to DATABASE_URL, or to the embedded database.
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { PgLive } from "../src/layers/Sql.js"
import { applyMigrations, describeTarget, runScript, ScriptTargetLive } from "./DbCli.js"

runScript(
  Effect.gen(function*() {
    yield* Console.log(`migrating ${yield* describeTarget}`)
    yield* applyMigrations.pipe(Effect.provide(PgLive))
  }).pipe(Effect.provide(ScriptTargetLive)),
  process.env.DATABASE_URL
)
