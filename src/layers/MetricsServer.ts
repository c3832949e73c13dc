import { Effect, Exit, Layer, Metric, Runtime } from "effect"
import { createServer } from "node:http"
import { setSecurityHeaders } from "../http/SecurityHeaders.js"
import { AppConfig } from "../services/AppConfig.js"
import { Health } from "../services/Health.js"
import { Metrics, renderPrometheus, tagger } from "../services/Metrics.js"

/**
 * `GET /metrics` in Prometheus' text format on `METRICS_PORT` (fly.toml's `[metrics]`), apart from
 * the API port so that it is never public (`METRICS_HOST` chooses the interface). Queue depth and connections are sampled at scrape time
 * (the queue counts through Health's short cache). `METRICS_PORT=0` turns it off.
 */
export const MetricsServerLive = Layer.scopedDiscard(Effect.gen(function*() {
  const config = yield* AppConfig
  const health = yield* Health
  if (config.metricsPort === 0) return
  const depth = tagger(Metrics.queueDepth, "status")
  const connections = tagger(Metrics.dbConnections, "state")
  const sample = Effect.gen(function*() {
    const queue = yield* Effect.exit(health.queue)
    if (Exit.isSuccess(queue)) {
      for (const status of ["queued", "in_progress", "stuck", "dead"] as const) {
        yield* Metric.set(depth(status), queue.value[status])
      }
    }
    const byState = yield* Effect.exit(health.connections)
    if (Exit.isSuccess(byState)) {
      for (const state of ["active", "idle", "idle in transaction"]) yield* Metric.set(connections(state), 0)
      for (const row of byState.value) yield* Metric.set(connections(row.state), row.n)
    }
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
