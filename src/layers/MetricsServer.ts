import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Runtime from "effect/Runtime"
import { createServer } from "node:http"
import { setSecurityHeaders } from "../http/SecurityHeaders.js"
import { AppConfig } from "../services/AppConfig.js"
import { Health } from "../services/Health.js"
import { Metrics, renderPrometheus, tagger } from "../services/Metrics.js"
import { PoolStats } from "../services/stores/PoolStats.js"

/**
 * `GET /metrics` in Prometheus' text format on `METRICS_PORT` (fly.toml's `[metrics]`), apart from
 * the API port so that it is never public (`METRICS_HOST` chooses the interface). The gauges are sampled
 * at scrape time: the database ping and queue counts from /health's check (the counts through its short
 * cache), the pool's and the process's counters from memory. `METRICS_PORT=0` turns it off.
 */
export const MetricsServerLive = Layer.scopedDiscard(Effect.gen(function*() {
  const config = yield* AppConfig
  const health = yield* Health
  if (config.metricsPort === 0) return
  const pool = yield* PoolStats
  const depth = tagger(Metrics.queueDepth, "status")
  const depthByType = tagger(Metrics.queueDepthByType, "type", "status")
  const oldest = tagger(Metrics.queueOldestQueuedSeconds, "type")
  const failedLastHour = tagger(Metrics.queueFailedLastHour, "type")
  const connections = tagger(Metrics.dbConnections, "state")
  const poolConnections = tagger(Metrics.dbPoolConnections, "state")
  yield* Metric.set(Metrics.startTime, Math.round(Date.now() / 1000 - process.uptime()))
  yield* Metric.set(Metrics.dbPoolMax, pool.max)
  const statuses = ["queued", "in_progress", "stuck", "dead"] as const

  const sample = Effect.gen(function*() {
    // /health's own check: one `SELECT 1`, and the queue counts through its short cache.
    const checked = yield* Effect.exit(health.check)
    yield* Metric.set(Metrics.databaseUp, Exit.isSuccess(checked) ? 1 : 0)
    if (Exit.isSuccess(checked)) {
      const report = checked.value
      if (report.database.latency_ms !== null) {
        yield* Metric.set(Metrics.databaseLatency, report.database.latency_ms / 1000)
      }
      const queue = report.queue
      if (queue !== null) {
        for (const status of statuses) yield* Metric.set(depth(status), queue[status])
        for (const [type, counts] of Object.entries(queue.by_type)) {
          for (const status of statuses) yield* Metric.set(depthByType(type, status), counts[status])
          yield* Metric.set(oldest(type), counts.oldest_queued_seconds ?? 0)
          yield* Metric.set(failedLastHour(type), counts.failed_last_hour)
        }
      }
    }
    const byState = yield* Effect.exit(health.connections)
    if (Exit.isSuccess(byState)) {
      for (const state of ["active", "idle", "idle in transaction"]) yield* Metric.set(connections(state), 0)
      for (const row of byState.value) yield* Metric.set(connections(row.state), row.n)
    }
    const stats = pool.read()
    yield* Metric.set(poolConnections("in_use"), stats.inUse)
    yield* Metric.set(poolConnections("idle"), stats.idle)
    yield* Metric.set(Metrics.dbPoolWaiting, stats.waiting)
    const memory = process.memoryUsage()
    yield* Metric.set(Metrics.residentMemory, memory.rss)
    yield* Metric.set(Metrics.heapUsed, memory.heapUsed)
    yield* Metric.set(Metrics.heapTotal, memory.heapTotal)
    return renderPrometheus(Metric.unsafeSnapshot())
  }).pipe(Effect.withTracerEnabled(false))

  const runPromise = Runtime.runPromise(yield* Effect.runtime<never>())
  const server = createServer((request, response) => {
    setSecurityHeaders(response)
    if (request.method !== "GET" || request.url?.split("?")[0] !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found\n")
      return
    }
    runPromise(sample).then(
      (body) => response.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(body),
      () => response.writeHead(500, { "content-type": "text/plain" }).end("metrics unavailable\n")
    )
  })
  yield* Effect.acquireRelease(
    Effect.async<void, Error>((resume) => {
      server.once("error", (error) => resume(Effect.fail(error)))
      server.listen(config.metricsPort, config.metricsHost, () => resume(Effect.void))
    }),
    () =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
        server.closeAllConnections()
      })
  ).pipe(Effect.orDie)
  yield* Effect.logInfo("metrics listening").pipe(
    Effect.annotateLogs({ host: config.metricsHost, port: config.metricsPort })
  )
}))
