import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { execFile } from "node:child_process"
import pg from "pg"
import { freePort } from "../utils/freePort.js"
import { productionEnv, projectRoot, spawnServer, waitHealthy } from "../utils/ServerProcess.js"
import { freshDatabase } from "../utils/TestDatabase.js"

const run = (script: string, args: ReadonlyArray<string>, stdin?: string) =>
  Effect.async<{ code: number; stdout: string }>((resume) => {
    const child = execFile(
      process.execPath,
      ["--import", "tsx", script, ...args],
      { cwd: projectRoot },
      (error, stdout) => resume(Effect.succeed({ code: error === null ? 0 : Number(error.code ?? 1), stdout }))
    )
    child.stdin!.end(stdin ?? "")
  })

const smoke = (base: string) => run("scripts/smoke.ts", [base, "--json"]).pipe(Effect.map(({ stdout }) => stdout))
const gate = (input: string, args: ReadonlyArray<string> = []) => run("scripts/smoke-gate.ts", args, input)
/** A ping threshold no loaded test machine reaches: the checks below are about the other figures. */
const ANY_LATENCY = ["--max-database-latency-ms", "60000"]

describe("npm run smoke:gate", () => {
  it.live(
    "passes the smoke --json of a healthy server, and stops on a growing queue or a slow database",
    () =>
      Effect.gen(function*() {
        const { url } = yield* freshDatabase("smoke_gate")
        const port = yield* Effect.promise(freePort)
        const server = yield* spawnServer({
          entry: "src",
          // No worker: the queued jobs below stay queued.
          env: { ...productionEnv(Redacted.value(url), port), HEALTH_CACHE_TTL: "0 millis", WORKER_ENABLED: "false" }
        })
        yield* waitHealthy(server, port, 60_000)
        const base = `http://127.0.0.1:${port}`

        const healthy = yield* smoke(base)
        expect(JSON.parse(healthy)).toMatchObject({
          ok: true,
          measurements: { database_latency_ms: expect.any(Number), queued: 0, stuck: 0, oldest_queued_seconds: null }
        })
        const passed = yield* gate(healthy, ANY_LATENCY)
        expect(passed.code).toBe(0)
        expect(passed.stdout).toContain("smoke-gate: ok")
        // A database slower than the threshold.
        const slow = yield* gate(healthy, ["--max-database-latency-ms", "-1"])
        expect(slow.code).toBe(1)
        expect(slow.stdout).toMatch(/FAIL {2}database_latency_ms = [\d.]+ \(max -1\)/)

        // Three jobs due for ten minutes: /health still says ok, the gate does not.
        const client = new pg.Client({ connectionString: Redacted.value(url) })
        yield* Effect.promise(async () => {
          await client.connect()
          const user = await client.query<{ id: string }>(
            "INSERT INTO auth.users (email) VALUES ('gate@example.test') RETURNING id"
          )
          const repo = await client.query<{ id: string }>(
            "INSERT INTO repositories (user_id, name, git_url, provider) VALUES ($1, 'r', 'https://github.com/a/r', 'github') RETURNING id",
            [user.rows[0]!.id]
          )
          await client.query(
            "INSERT INTO indexing_jobs (repository_id, job_type, run_at) SELECT $1, 'validate', now() - interval '10 minutes' FROM generate_series(1, 3)",
            [repo.rows[0]!.id]
          )
          await client.end()
        })
        const backlog = yield* smoke(base)
        expect(JSON.parse(backlog)).toMatchObject({ ok: true, measurements: { queued: 3 } })
        const stopped = yield* gate(backlog, [...ANY_LATENCY, "--max-queued", "2", "--max-oldest-queued-seconds", "60"])
        expect(stopped.code).toBe(1)
        expect(stopped.stdout).toContain("FAIL  queued = 3 (max 2)")
        expect(stopped.stdout).toMatch(/FAIL {2}oldest_queued_seconds = \d+(\.\d+)? \(max 60\)/)
        expect((yield* gate(backlog, [...ANY_LATENCY, "--max-oldest-queued-seconds", "900"])).code).toBe(0) // within the thresholds

        // A failed smoke check fails the gate whatever the figures; unreadable input is a usage error.
        const failed = JSON.stringify({
          ...JSON.parse(healthy),
          ok: false,
          checks: [{ name: "health", ok: false, detail: "503" }]
        })
        const refused = yield* gate(failed, ANY_LATENCY)
        expect(refused.code).toBe(1)
        expect(refused.stdout).toContain("the smoke check failed: health (503)")
        expect((yield* gate("not json")).code).toBe(2)
        expect((yield* gate(healthy, ["--max-everything", "1"])).code).toBe(2)
      }).pipe(Effect.scoped),
    120_000
  )
})
