import * as Layer from "effect/Layer"
import { AppConfig } from "../services/AppConfig.js"
import type { JobHandlers } from "../worker/JobHandlers.js"
import { DatabaseUrlLive } from "./EmbeddedPostgres.js"
import { HttpLive } from "./Http.js"
import { MaintenanceLive } from "./Maintenance.js"
import { MetricsServerLive } from "./MetricsServer.js"
import { LoggingLive, TracingLive } from "./Observability.js"
import { ServicesLive } from "./Services.js"
import { SqlLive } from "./Sql.js"
import { JobHandlersLive, WorkerLive } from "./Worker.js"

/**
 * The whole process: the HTTP server and the worker side by side. Layers are released in reverse order
 * of acquisition, so on SIGTERM the listener closes (in-flight requests finish) and the worker drains,
 * then the services flush (audit rows), then the pool closes, and the embedded Postgres stops last.
 */
export const makeAppLive = <E, R>(handlers: Layer.Layer<JobHandlers, E, R>) =>
  Layer.mergeAll(HttpLive, WorkerLive, MetricsServerLive, MaintenanceLive).pipe(
    Layer.provide(handlers),
    Layer.provide(ServicesLive),
    Layer.provide(SqlLive),
    Layer.provide(DatabaseUrlLive),
    Layer.provide(TracingLive),
    Layer.provide(LoggingLive),
    Layer.provideMerge(AppConfig.Default)
  )

export const AppLive = makeAppLive(JobHandlersLive)
