import * as Effect from "effect/Effect"
import * as Option from "effect/Option"

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

/**
 * `Effect.withSpan` when traces are exported, else nothing. A span costs its request a copy of the
 * fiber's whole context (about 40 services in the server) even when no exporter will ever see it:
 * on the webhook route two such spans took about 18 % of the server's CPU per delivery
 * (bench/README.md, webhooks). The platform's `http.server` span stays, so logs keep their trace ids.
 */
export const spanWhen = (traced: boolean, name: string) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  traced ? Effect.withSpan(self, name, { captureStackTrace: false }) : self
