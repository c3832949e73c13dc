import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Schema from "effect/Schema"

export const HealthStatus = Schema.Literal("ok", "degraded", "down")
export type HealthStatus = typeof HealthStatus.Type

export const DatabaseHealth = Schema.Struct({
  status: Schema.Literal("ok", "error"),
  latency_ms: Schema.NullOr(Schema.Number),
  error: Schema.optional(Schema.String)
})

/** One job type's share of the queue counts. */
export const QueueTypeHealth = Schema.Struct({
  queued: Schema.Int,
  in_progress: Schema.Int,
  failed_last_hour: Schema.Int,
  dead: Schema.Int,
  stuck: Schema.Int,
  oldest_queued_seconds: Schema.NullOr(Schema.Number)
})
export type QueueTypeHealth = typeof QueueTypeHealth.Type

/** The totals over every job type, then `by_type`: every job type, zeros included. */
export const QueueHealth = Schema.Struct({
  ...QueueTypeHealth.fields,
  measured_at: Schema.String,
  by_type: Schema.Record({ key: Schema.String, value: QueueTypeHealth })
})
export type QueueHealth = typeof QueueHealth.Type

export const WorkerHealth = Schema.Struct({
  enabled: Schema.Boolean,
  loops: Schema.Int,
  in_flight: Schema.Int,
  last_tick_at: Schema.NullOr(Schema.String),
  draining: Schema.Boolean
})

export const HealthReport = Schema.Struct({
  status: HealthStatus,
  version: Schema.String,
  uptime_seconds: Schema.Number,
  database: DatabaseHealth,
  queue: Schema.NullOr(QueueHealth),
  worker: WorkerHealth
})
export type HealthReport = typeof HealthReport.Type

export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()("ServiceUnavailable", {
  message: Schema.String,
  ...HealthReport.fields
}, HttpApiSchema.annotations({ status: 503 })) {}

export const LiveReport = Schema.Struct({ status: Schema.Literal("ok"), uptime_seconds: Schema.Number })
