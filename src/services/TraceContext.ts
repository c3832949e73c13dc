import { Effect, Option } from "effect"

/**
 * The current span as a W3C `traceparent`, stored with a job so that the worker's `job.process`
 * span can link back to the request that enqueued it; null outside any span.
 */
export const currentTraceparent: Effect.Effect<string | null> = Effect.map(
  Effect.option(Effect.currentSpan),
  Option.match({
    onNone: () => null,
    onSome: (span) => `00-${span.traceId}-${span.spanId}-${span.sampled ? "01" : "00"}`
  })
)
