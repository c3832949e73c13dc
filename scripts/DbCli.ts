import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { DatabaseUrl, DatabaseUrlLive } from "../src/layers/EmbeddedPostgres.js"
import { migrate } from "../src/layers/Migrations.js"
import { AppConfig } from "../src/services/AppConfig.js"

/** Replaces the credentials of `url` wherever they appear in `text`. */
export const scrub = (text: string, url: string) => {
  let out = text
  try {
    const parsed = new URL(url)
    const secrets = [parsed.password, decodeURIComponent(parsed.password)].filter((s) => s.length > 0)
    out = out.split(url).join(redactUrl(url))
    for (const secret of secrets) out = out.split(secret).join("***")
  } catch {
    out = out.split(url).join("<database url>")
  }
  return out.replace(/(postgres(?:ql)?:\/\/)[^@\s/]+@/g, "$1***@")
}

export const redactUrl = (url: string) => {
  try {
    const parsed = new URL(url)
    return `${parsed.protocol}//${parsed.username === "" ? "" : "***@"}${parsed.host}${parsed.pathname}`
  } catch {
    return "<database url>"
  }
}

export const isLocalUrl = (url: string) => {
  try {
    const host = new URL(url).hostname
    return host === "" || host === "localhost" || host === "127.0.0.1" || host === "[::1]" || host === "::1"
  } catch {
    return false
  }
}

/** The database a script works on: `DATABASE_URL`, or the embedded server (started for the script). */
export const ScriptTargetLive = DatabaseUrlLive.pipe(Layer.provideMerge(AppConfig.Tool))

export const applyMigrations = migrate.pipe(
  Effect.tap((applied) =>
    applied.length === 0
      ? Console.log("migrations: up to date")
      : Effect.forEach(applied, ([id, name]) => Console.log(`applied ${String(id).padStart(4, "0")}_${name}`))
  )
)

export const describeTarget = Effect.gen(function*() {
  const config = yield* AppConfig
  const url = yield* DatabaseUrl
  return Option.isSome(config.databaseUrl)
    ? redactUrl(Redacted.value(url))
    : `embedded Postgres in ${config.dataDir}/pg (${redactUrl(Redacted.value(url))})`
})

/** A mistake in the command line: printed without a stack trace, exit code 2. */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

/** Runs a script with every line it prints, errors included, scrubbed of `url`'s credentials. */
export const runScript = <E>(program: Effect.Effect<void, E>, url?: string) => {
  if (url !== undefined) {
    for (const stream of [process.stdout, process.stderr]) {
      const write = stream.write.bind(stream) as (chunk: string | Uint8Array, ...rest: Array<unknown>) => boolean
      stream.write = ((chunk: string | Uint8Array, ...rest: Array<unknown>) =>
        write(
          scrub(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"), url),
          ...rest
        )) as typeof stream.write
    }
  }
  NodeRuntime.runMain(
    program.pipe(Effect.catchIf(
      (error): error is UsageError & E => error instanceof UsageError,
      (error) => Console.error(error.message).pipe(Effect.zipRight(Effect.sync(() => process.exitCode = 2)))
    ))
  )
}
