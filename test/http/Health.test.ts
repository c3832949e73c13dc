import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { insertRepository, insertUser } from "../utils/fixtures.js"
import { apiClient, testApp } from "../utils/TestApp.js"

layer(testApp({ HEALTH_CACHE_TTL: "1 hour", WORKER_LEASE_TIMEOUT: "30 seconds" }), {
  timeout: "60 seconds",
  excludeTestServices: true
})("GET /health", (it) => {
  it.effect("reports the queue from the real tables and caches the counts", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const repo = yield* insertRepository(yield* insertUser())
      const job = (status: string, extra: { runAt?: string; lockedAt?: string; finishedAt?: string } = {}) =>
        sql`
          INSERT INTO indexing_jobs (repository_id, job_type, status, run_at, locked_by, locked_at, finished_at)
          VALUES (
            ${repo}, 'webhook_update', ${status},
            now() - ${extra.runAt ?? "0 seconds"}::interval,
            ${status === "in_progress" ? "worker-a" : null},
            ${extra.lockedAt === undefined ? null : sql`now() - ${extra.lockedAt}::interval`},
            ${extra.finishedAt === undefined ? null : sql`now() - ${extra.finishedAt}::interval`}
          )`
      yield* job("queued", { runAt: "120 seconds" })
      yield* job("queued", { runAt: "5 seconds" })
      yield* job("queued", { runAt: "-1 hour" }) // a retry waiting for its backoff: queued, not yet runnable
      yield* job("in_progress", { lockedAt: "1 second" })
      yield* job("in_progress", { lockedAt: "10 minutes" }) // lease long expired
      yield* job("failed", { finishedAt: "10 minutes" })
      yield* job("failed", { finishedAt: "2 hours" })
      yield* job("completed", { finishedAt: "1 minute" })
      yield* job("cancelled", { finishedAt: "1 minute" })

      const client = yield* apiClient
      const report = yield* client.health.readiness()
      expect(report.database.status).toBe("ok")
      expect(report.version).toMatch(/^\d+\.\d+\.\d+/)
      expect(report.queue).toMatchObject({ queued: 3, in_progress: 2, stuck: 1, failed_last_hour: 1, dead: 2 })
      expect(report.queue!.oldest_queued_seconds).toBeGreaterThanOrEqual(119)
      expect(report.queue!.oldest_queued_seconds).toBeLessThan(150)
      expect(report.status).toBe("degraded") // a stuck job is worth an operator's look

      yield* job("queued")
      const again = yield* client.health.readiness()
      expect(again.queue).toEqual(report.queue)
      expect(again.database.latency_ms).not.toBeNull()
    }))

  it.effect("liveness answers without I/O", () =>
    Effect.gen(function*() {
      const client = yield* apiClient
      const live = yield* client.health.liveness()
      expect(live.status).toBe("ok")
      expect(live.uptime_seconds).toBeGreaterThanOrEqual(0)
    }))
})

layer(testApp({ HEALTH_CACHE_TTL: "0 millis", WORKER_LEASE_TIMEOUT: "30 seconds" }), {
  timeout: "60 seconds",
  excludeTestServices: true
})("GET /health, queue by job type", (it) => {
  it.effect("counts each job type apart, every type listed, and the totals are their sums", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const repo = yield* insertRepository(yield* insertUser())
      const job = (
        type: string,
        status: string,
        extra: { runAt?: string; lockedAt?: string; finishedAt?: string } = {}
      ) =>
        sql`
          INSERT INTO indexing_jobs (repository_id, job_type, status, attempt, run_at, locked_by, locked_at, finished_at)
          VALUES (
            ${repo}, ${type}, ${status}, 1,
            now() - ${extra.runAt ?? "0 seconds"}::interval,
            ${status === "in_progress" ? "worker-a" : null},
            ${extra.lockedAt === undefined ? null : sql`now() - ${extra.lockedAt}::interval`},
            ${extra.finishedAt === undefined ? null : sql`now() - ${extra.finishedAt}::interval`}
          )`
      yield* job("full_index", "queued", { runAt: "300 seconds" })
      yield* job("full_index", "in_progress", { lockedAt: "10 minutes" })
      yield* job("full_index", "failed", { finishedAt: "2 hours" })
      yield* job("webhook_update", "queued", { runAt: "20 seconds" })
      yield* job("webhook_update", "queued", { runAt: "-1 hour" })
      yield* job("webhook_update", "failed", { finishedAt: "5 minutes" })
      yield* job("webhook_update", "failed", { finishedAt: "6 minutes" })
      yield* job("provision_webhook", "in_progress", { lockedAt: "1 second" })
      yield* job("validate", "completed", { finishedAt: "1 minute" })

      const client = yield* apiClient
      const queue = (yield* client.health.readiness()).queue!
      expect(Object.keys(queue.by_type).sort()).toEqual(
        ["full_index", "incremental_update", "provision_webhook", "validate", "webhook_update"]
      )
      expect(queue.by_type.full_index).toMatchObject({
        queued: 1,
        in_progress: 1,
        stuck: 1,
        failed_last_hour: 0,
        dead: 1
      })
      expect(queue.by_type.full_index!.oldest_queued_seconds).toBeGreaterThanOrEqual(299)
      expect(queue.by_type.webhook_update).toMatchObject({
        queued: 2,
        in_progress: 0,
        stuck: 0,
        failed_last_hour: 2,
        dead: 2
      })
      expect(queue.by_type.webhook_update!.oldest_queued_seconds).toBeGreaterThanOrEqual(19)
      expect(queue.by_type.webhook_update!.oldest_queued_seconds).toBeLessThan(299)
      expect(queue.by_type.provision_webhook).toEqual({
        queued: 0,
        in_progress: 1,
        stuck: 0,
        failed_last_hour: 0,
        dead: 0,
        oldest_queued_seconds: null
      })
      const idle = { queued: 0, in_progress: 0, stuck: 0, failed_last_hour: 0, dead: 0, oldest_queued_seconds: null }
      expect(queue.by_type.validate).toEqual(idle) // completed jobs are not counted
      expect(queue.by_type.incremental_update).toEqual(idle)
      // The fields older clients read are the totals over every type.
      expect(queue).toMatchObject({ queued: 3, in_progress: 2, stuck: 1, failed_last_hour: 2, dead: 3 })
      expect(queue.oldest_queued_seconds).toBe(queue.by_type.full_index!.oldest_queued_seconds)
    }))
})
