// npm run db:apply -- <postgres-url> — apply pending migrations to a remote database (a Supabase
// project's direct connection, say). Every line printed has the URL's credentials scrubbed.
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { PgLive } from "../src/layers/Sql.js"
import { applyMigrations, describeTarget, runScript, ScriptTargetLive } from "./DbCli.js"

const url = process.argv[2] ?? process.env.DATABASE_URL
if (url === undefined || !/^postgres(ql)?:\/\//.test(url)) {
  process.stderr.write("usage: npm run db:apply -- <postgres://user:password@host:port/database>\n")
  process.exit(2)
}
process.env.DATABASE_URL = url

runScript(
  Effect.gen(function*() {
    yield* Console.log(`applying migrations to ${yield* describeTarget}`)
    yield* applyMigrations.pipe(Effect.provide(PgLive))
  }).pipe(Effect.provide(ScriptTargetLive)),
  url
)
