import * as SqlClient from "@effect/sql/SqlClient"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type { HealthReport, HealthStatus, QueueHealth, QueueTypeHealth } from "../domain/Health.js"
import { ServiceUnavailable } from "../domain/Health.js"
import { JobType } from "../domain/Job.js"
import { AppConfig } from "./AppConfig.js"
import { JobStore } from "./stores/JobStore.js"
import { WorkerStatus } from "./WorkerStatus.js"

const PING_TIMEOUT = Duration.seconds(2)
const SLOW_DATABASE_MS = 500
const EMPTY = { queued: 0, in_progress: 0, failed_last_hour: 0, dead: 0, stuck: 0, oldest_queued_seconds: null }

type Mutable<A> = { -readonly [K in keyof A]: A[K] }

export class Health extends Effect.Service<Health>()("services/Health", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const jobs = yield* JobStore
    const workerStatus = yield* WorkerStatus
    const worker = Effect.map(workerStatus.get, (w) => ({
      enabled: w.enabled,
      loops: w.loops,
      in_flight: w.inFlight,
      last_tick_at: w.lastTickAt?.toISOString() ?? null,
      draining: w.draining
    }))
    const config = yield* AppConfig
    const startedAt = yield* Clock.currentTimeMillis
    const uptimeSeconds = Effect.map(Clock.currentTimeMillis, (now) => (now - startedAt) / 1000)

    // `disconnect` makes the timeout return at the deadline instead of waiting for the query to unwind.
    const ping = sql`SELECT 1`.pipe(
      Effect.disconnect,
      Effect.timeoutFail({ duration: PING_TIMEOUT, onTimeout: () => new Error("database ping timed out") }),
      Effect.timed,
      Effect.map(([elapsed]) => Duration.toMillis(elapsed))
    )

    const measureQueue: Effect.Effect<QueueHealth> = jobs.queueCounts(config.workerLeaseTimeout).pipe(
      Effect.map((rows) => {
        const by_type: Record<string, QueueTypeHealth> = {}
        for (const type of JobType.literals) by_type[type] = { ...EMPTY }
        const total: Mutable<QueueTypeHealth> = { ...EMPTY }
        for (const row of rows) {
          const counts: QueueTypeHealth = {
            queued: row.queued,
            in_progress: row.inProgress,
            failed_last_hour: row.failedLastHour,
            dead: row.dead,
            stuck: row.stuck,
            oldest_queued_seconds: row.oldestQueuedSeconds
          }
          by_type[row.jobType] = counts
          total.queued += counts.queued
          total.in_progress += counts.in_progress
          total.failed_last_hour += counts.failed_last_hour
          total.dead += counts.dead
          total.stuck += counts.stuck
          if (
            counts.oldest_queued_seconds !== null &&
            (total.oldest_queued_seconds === null || counts.oldest_queued_seconds > total.oldest_queued_seconds)
          ) total.oldest_queued_seconds = counts.oldest_queued_seconds
        }
        return { ...total, measured_at: new Date().toISOString(), by_type }
      })
    )
    const [cachedQueue, invalidateQueue] = yield* Effect.cachedInvalidateWithTTL(measureQueue, config.healthCacheTtl)

    const check = Effect.gen(function*() {
      const uptime_seconds = yield* uptimeSeconds
      const pinged = yield* Effect.exit(ping)
      if (Exit.isFailure(pinged)) {
        yield* invalidateQueue
        const error = Cause.pretty(pinged.cause).split("\n")[0] ?? "unreachable"
        return yield* new ServiceUnavailable({
          message: "database unreachable",
          status: "down",
          version: config.version,
          uptime_seconds,
          database: { status: "error", latency_ms: null, error },
          queue: null,
          worker: yield* worker
        })
      }
      const queued = yield* Effect.exit(Effect.sandbox(cachedQueue))
      if (Exit.isFailure(queued)) yield* invalidateQueue
      const queue = Exit.isSuccess(queued) ? queued.value : null
      const status: HealthStatus = queue === null || queue.stuck > 0 || pinged.value > SLOW_DATABASE_MS
        ? "degraded"
        : "ok"
      const report: HealthReport = {
        status,
        version: config.version,
        uptime_seconds,
        database: { status: "ok", latency_ms: pinged.value },
        queue,
        worker: yield* worker
      }
      return report
    }).pipe(Effect.withSpan("Health.check"))

    const live = Effect.map(uptimeSeconds, (uptime_seconds) => ({ status: "ok" as const, uptime_seconds }))

    /** This application's Postgres connections by state (every process using the same application name). */
    const connections = sql<{ state: string; n: number }>`
      SELECT coalesce(state, 'unknown') AS state, count(*)::int AS n FROM pg_stat_activity
      WHERE application_name = 'kotadb-control-plane' GROUP BY 1`.pipe(
      Effect.timeout(PING_TIMEOUT),
      Effect.withSpan("Health.connections")
    )

    return { check, live, queue: cachedQueue, connections } as const
  })
}) {}
