import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Redacted, Schedule } from "effect"
import { execFileSync } from "node:child_process"
import { freePort } from "../utils/freePort.js"
import type { ServerProcess } from "../utils/ServerProcess.js"
import { productionEnv, projectRoot, spawnServer, waitHealthy } from "../utils/ServerProcess.js"
import { freshDatabase } from "../utils/TestDatabase.js"

describe("SIGTERM", () => {
  beforeAll(() => {
    execFileSync("npm", ["run", "--silent", "build"], { cwd: projectRoot, stdio: "inherit" })
  }, 120_000)

  it.live("the built server stops listening, finishes the request in flight and exits 0", () =>
    Effect.gen(function*() {
      const { url } = yield* freshDatabase("sigterm")
      const port = yield* Effect.promise(freePort)
      const server = yield* spawnServer({
        entry: "dist",
        env: { ...productionEnv(Redacted.value(url), port), HEALTH_CACHE_TTL: "0 millis" }
      })
      yield* waitHealthy(server, port)
      yield* inFlightRequestCompletes(server, port).pipe(Effect.provide(PgClient.layer({ url })))
    }).pipe(Effect.scoped), 90_000)
})

const inFlightRequestCompletes = (server: ServerProcess, port: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // /health counts indexing_jobs; holding an exclusive lock on it keeps a request in flight.
    const locked = yield* Deferred.make<void>()
    const release = yield* Deferred.make<void>()
    yield* sql.withTransaction(
      sql`LOCK TABLE indexing_jobs IN ACCESS EXCLUSIVE MODE`.pipe(
        Effect.zipRight(Deferred.succeed(locked, undefined)),
        Effect.zipRight(Deferred.await(release))
      )
    ).pipe(Effect.forkScoped)
    yield* Deferred.await(locked)

    const inFlight = fetch(`http://127.0.0.1:${port}/health`).then(async (r) => ({
      status: r.status,
      body: await r.json()
    }))
    // pg_locks is the whole server's: on a shared Postgres, other suites' lock waits must not count.
    yield* sql<{ n: number }>`
      SELECT count(*)::int AS n FROM pg_locks
      WHERE NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`.pipe(
      Effect.map((rows) => rows[0]!.n),
      Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (n) => n > 0 })
    )

    server.child.kill("SIGTERM")
    const refused = yield* Effect.promise(async () => {
      for (let i = 0; i < 50; i++) {
        const answered = await fetch(`http://127.0.0.1:${port}/health/live`).then(() => true, () => false)
        if (!answered) return true
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      return false
    })
    expect(refused).toBe(true)
    expect(server.child.exitCode).toBeNull()

    yield* Deferred.succeed(release, undefined)
    const response = yield* Effect.promise(() => inFlight)
    expect(response.status).toBe(200)
    expect(response.body).toMatchObject({ status: "ok" })
    expect(yield* Effect.promise(() => server.exited)).toBe(0)
  }).pipe(Effect.scoped)
