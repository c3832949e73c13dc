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

layer(TestPostgresLive, { timeout: "120 seconds", excludeTestServices: true })("npm run smoke -- --mcp", (it) => {
  it.effect(
    "checks initialize, tools/list and search_code with a key, and fails without one",
    () =>
      Effect.gen(function*() {
        const postgres = yield* TestPostgres
        const port = yield* Effect.promise(freePort)
        const server = yield* spawnServer({
          entry: "src",
          env: { ...productionEnv(Redacted.value(postgres.url), port), INTERNAL_API_KEY: INTERNAL_KEY }
        })
        yield* waitHealthy(server, port, 60_000)
        const base = `http://127.0.0.1:${port}`
        const issue = (scopes: Array<string>) =>
          Effect.promise(() =>
            fetch(`${base}/internal/api-keys`, {
              method: "POST",
              headers: { "content-type": "application/json", "x-internal-key": INTERNAL_KEY },
              body: JSON.stringify({ user_email: "smoke@example.test", scopes })
            }).then(async (r) => ((await r.json()) as { api_key: string }).api_key)
          )
        // A read-only key is enough: the smoke check writes nothing.
        const key = yield* issue(["read"])

        const checked = yield* smoke([base, key, "--mcp", "--json"])
        expect(checked.code).toBe(0)
        const report = JSON.parse(checked.stdout) as { checks: Array<{ name: string; ok: boolean }> }
        expect(report.checks.map((c) => [c.name, c.ok])).toEqual([
          ["health", true],
          ["database", true],
          ["jobs", true],
          ["authenticated listing", true],
          ["mcp initialize", true],
          ["mcp tools/list", true],
          ["mcp search_code", true]
        ])
        const human = yield* smoke([base, key, "--mcp"])
        expect(human.stdout).toContain("mcp search_code")
        expect(human.stdout).toContain("smoke: ok")
        expect((yield* smoke([base, "--mcp"])).code).toBe(1)
        expect((yield* smoke([base, "kdb_live_not_a_real_key_000000000", "--mcp"])).code).toBe(1)
      }).pipe(Effect.scoped),
    { timeout: 240_000 }
  )
})
