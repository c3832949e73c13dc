import { expect, layer } from "@effect/vitest"
import { Effect, Redacted, Schedule } from "effect"
import pg from "pg"
import { freePort } from "../utils/freePort.js"
import { productionEnv, spawnServer, waitHealthy } from "../utils/ServerProcess.js"
import { TestPostgres, TestPostgresLive } from "../utils/TestPostgres.js"

/** `name{labels}` → value of a Prometheus text exposition; fails unless the scrape answers 200. */
const scrape = (port: number) =>
  Effect.promise(async () => {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) })
    expect(response.status).toBe(200)
    const values = new Map<string, number>()
    for (const line of (await response.text()).split("\n")) {
      if (line === "" || line.startsWith("#")) continue
      const at = line.lastIndexOf(" ")
      values.set(line.slice(0, at), Number(line.slice(at + 1)))
    }
    return values
  })

layer(TestPostgresLive, { timeout: "120 seconds", excludeTestServices: true })("/metrics gauges", (it) => {
  it.effect("the alerts' gauges: queue by type, oldest wait, pool, memory; database_up 0 while Postgres is down", () =>
    Effect.gen(function*() {
      const postgres = yield* TestPostgres
      const spawnedAfter = Math.floor(Date.now() / 1000) - 1
      const port = yield* Effect.promise(freePort)
      const metricsPort = yield* Effect.promise(freePort)
      const server = yield* spawnServer({
        entry: "src",
        env: {
          ...productionEnv(Redacted.value(postgres.url), port),
          METRICS_PORT: String(metricsPort),
          HEALTH_CACHE_TTL: "0 millis",
          DATABASE_MAX_CONNECTIONS: "7",
          WORKER_ENABLED: "false" // the queued jobs below stay queued
        }
      })
      yield* waitHealthy(server, port, 60_000)

      yield* Effect.promise(async () => {
        const client = new pg.Client({ connectionString: Redacted.value(postgres.url) })
        await client.connect()
        const user = await client.query<{ id: string }>(
          "INSERT INTO auth.users (email) VALUES ('gauges@example.test') RETURNING id"
        )
        const repo = await client.query<{ id: string }>(
          "INSERT INTO repositories (user_id, name, git_url, provider) VALUES ($1, 'r', 'https://github.com/a/r', 'github') RETURNING id",
          [user.rows[0]!.id]
        )
        await client.query(
          `INSERT INTO indexing_jobs (repository_id, job_type, status, attempt, run_at, finished_at)
           VALUES ($1, 'validate', 'queued', 0, now() - interval '100 seconds', NULL),
                  ($1, 'validate', 'queued', 0, now() + interval '1 hour', NULL),
                  ($1, 'webhook_update', 'failed', 3, now(), now() - interval '5 minutes')`,
          [repo.rows[0]!.id]
        )
        await client.end()
      })

      const up = yield* scrape(metricsPort)
      expect(up.get("database_up")).toBe(1)
      expect(up.get("database_ping_seconds")).toBeGreaterThan(0)
      expect(up.get("queue_depth_by_type{type=\"validate\",status=\"queued\"}")).toBe(2)
      expect(up.get("queue_depth{status=\"queued\"}")).toBe(2)
      // The job not yet due does not count: the oldest due one waited about 100 s.
      expect(up.get("queue_oldest_queued_seconds{type=\"validate\"}")).toBeGreaterThanOrEqual(100)
      expect(up.get("queue_oldest_queued_seconds{type=\"validate\"}")).toBeLessThan(3600) // seconds, not ms
      expect(up.get("queue_oldest_queued_seconds{type=\"full_index\"}")).toBe(0)
      expect(up.get("queue_depth_by_type{type=\"webhook_update\",status=\"dead\"}")).toBe(1)
      expect(up.get("queue_failed_last_hour{type=\"webhook_update\"}")).toBe(1)
      expect(up.get("queue_failed_last_hour{type=\"validate\"}")).toBe(0)
      expect(up.get("db_pool_max_connections")).toBe(7)
      const inUse = up.get("db_pool_connections{state=\"in_use\"}")!
      const idle = up.get("db_pool_connections{state=\"idle\"}")!
      expect(inUse).toBeGreaterThanOrEqual(0)
      expect(inUse + idle).toBeGreaterThanOrEqual(1)
      expect(inUse + idle).toBeLessThanOrEqual(7)
      expect(up.get("db_pool_waiting_requests")).toBe(0)
      expect(up.get("process_resident_memory_bytes")).toBeGreaterThan(up.get("nodejs_heap_size_used_bytes")!)
      expect(up.get("nodejs_heap_size_total_bytes")).toBeGreaterThanOrEqual(up.get("nodejs_heap_size_used_bytes")!)
      expect(up.get("process_start_time_seconds")).toBeLessThanOrEqual(Date.now() / 1000)
      expect(up.get("process_start_time_seconds")).toBeGreaterThanOrEqual(spawnedAfter)

      // Postgres stops: /metrics still answers, and says so.
      yield* postgres.stop
      const down = yield* scrape(metricsPort).pipe(
        Effect.filterOrFail((values) => values.get("database_up") === 0),
        Effect.retry(Schedule.spaced("500 millis").pipe(Schedule.upTo("20 seconds"))),
        Effect.orElse(() => Effect.dieMessage("database_up never went to 0"))
      )
      expect(down.get("database_up")).toBe(0)
      yield* postgres.start
      yield* scrape(metricsPort).pipe(
        Effect.filterOrFail((values) => values.get("database_up") === 1),
        Effect.retry(Schedule.spaced("500 millis").pipe(Schedule.upTo("30 seconds"))),
        Effect.orElse(() => Effect.dieMessage("database_up never came back to 1"))
      )
    }).pipe(Effect.scoped))
})
