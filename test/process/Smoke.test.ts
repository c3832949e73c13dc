import { expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { execFile } from "node:child_process"
import { freePort } from "../utils/freePort.js"
import { productionEnv, projectRoot, spawnServer, waitHealthy } from "../utils/ServerProcess.js"
import { TestPostgres, TestPostgresLive } from "../utils/TestPostgres.js"

const smoke = (args: ReadonlyArray<string>) =>
  Effect.async<{ code: number; stdout: string }>((resume) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "scripts/smoke.ts", ...args],
      { cwd: projectRoot },
      (error, stdout) => resume(Effect.succeed({ code: error === null ? 0 : Number(error.code ?? 1), stdout }))
    )
  })

const INTERNAL_KEY = "smoke-internal-key-0123456789abcdef"

layer(TestPostgresLive, { timeout: "120 seconds", excludeTestServices: true })("npm run smoke", (it) => {
  it.effect("exits 0 against a healthy server (with a key too), and non-zero while its database is stopped", () =>
    Effect.gen(function*() {
      const postgres = yield* TestPostgres
      const port = yield* Effect.promise(freePort)
      const server = yield* spawnServer({
        entry: "src",
        env: {
          ...productionEnv(Redacted.value(postgres.url), port),
          HEALTH_CACHE_TTL: "0 millis",
          INTERNAL_API_KEY: INTERNAL_KEY
        }
      })
      yield* waitHealthy(server, port, 60_000)
      const base = `http://127.0.0.1:${port}`
      const key = yield* Effect.promise(() =>
        fetch(`${base}/internal/api-keys`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-internal-key": INTERNAL_KEY },
          body: JSON.stringify({ user_email: "smoke@example.test" })
        }).then(async (r) => ((await r.json()) as { api_key: string }).api_key)
      )

      const healthy = yield* smoke([base, key])
      expect(healthy.code).toBe(0)
      expect(healthy.stdout).toContain("smoke: ok")
      expect(healthy.stdout).toContain("authenticated listing")
      const asJson = yield* smoke([base, "--json"])
      expect(asJson.code).toBe(0)
      expect(JSON.parse(asJson.stdout)).toMatchObject({ ok: true, checks: [{ name: "health", ok: true }, {}, {}] })
      expect((yield* smoke([base, "kdb_live_not_a_real_key_000000000"])).code).toBe(1)

      yield* postgres.stop
      const down = yield* smoke([base, "--json"])
      expect(down.code).toBe(1)
      expect(JSON.parse(down.stdout)).toMatchObject({
        ok: false,
        checks: [{ name: "health", ok: false }, { name: "database", ok: false }, { name: "jobs", ok: false }]
      })
      expect((yield* smoke(["not-a-url"])).code).toBe(2)
      yield* postgres.start
    }).pipe(Effect.scoped))
})
