import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { freePort } from "../utils/freePort.js"
import { productionEnv, spawnServer, waitHealthy } from "../utils/ServerProcess.js"
import { freshDatabase } from "../utils/TestDatabase.js"

describe("booting the server process", () => {
  it.live("a bad environment stops the boot with one message naming every variable", () =>
    Effect.gen(function*() {
      const server = yield* spawnServer({
        entry: "src",
        env: { DATABASE_URL: "postgres://app:hunter2@127.0.0.1:1/none", PORT: "eighty", LOG_LEVEL: "chatty" }
      })
      const code = yield* Effect.promise(() => server.exited)
      expect(code).toBe(1)
      const output = server.output()
      for (const name of ["PORT", "LOG_LEVEL", "KOTADB_WEBHOOK_BASE_URL", "SECRETS_ENCRYPTION_KEY"]) {
        expect(output).toContain(name)
      }
      expect(output).toContain("Invalid configuration (4 problems)")
      expect(output).not.toContain("hunter2")
    }).pipe(Effect.scoped), 60_000)

  it.live(
    "two processes booting against the same empty database both come up (one API-only)",
    () =>
      Effect.gen(function*() {
        const { url } = yield* freshDatabase("boot")
        const [portA, portB] = [yield* Effect.promise(freePort), yield* Effect.promise(freePort)]
        const a = yield* spawnServer({ entry: "src", env: productionEnv(Redacted.value(url), portA) })
        const b = yield* spawnServer({
          entry: "src",
          env: { ...productionEnv(Redacted.value(url), portB), WORKER_ENABLED: "false" }
        })
        yield* Effect.all([waitHealthy(a, portA), waitHealthy(b, portB)], { concurrency: 2 })

        const migrations = yield* Effect.flatMap(
          SqlClient.SqlClient,
          (sql) => sql<{ n: number }>`SELECT count(*)::int AS n FROM kotadb_migrations`
        ).pipe(
          Effect.provide(PgClient.layer({ url }))
        )
        expect(migrations[0]!.n).toBeGreaterThanOrEqual(2)
        const health = yield* Effect.promise(() => fetch(`http://127.0.0.1:${portB}/health`).then((r) => r.json()))
        expect(health).toMatchObject({ status: "ok", database: { status: "ok" }, worker: { enabled: false, loops: 0 } })
        const withWorker = yield* Effect.promise(() => fetch(`http://127.0.0.1:${portA}/health`).then((r) => r.json()))
        expect(withWorker).toMatchObject({ worker: { enabled: true, loops: 4, draining: false } })
      }).pipe(Effect.scoped),
    90_000
  )
})
