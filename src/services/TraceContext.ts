import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"

/**
 * The current span as a W3C `traceparent`, stored with a job so that the worker's `job.process`
 * span can link back to the request that enqueued it; null outside any span.
 */
export const currentTraceparent: Effect.Effect<string | null> = Effect.contextWith((context) => {
  // What Effect.currentSpan reads, in one step instead of its four (it is on every webhook delivery's path).
  const span = Context.getOption(context, Tracer.ParentSpan)
  return Option.isSome(span) && span.value._tag === "Span"
    ? `00-${span.value.traceId}-${span.value.spanId}-${span.value.sampled ? "01" : "00"}`
    : null
})

/**
 * `Effect.withSpan` when traces are exported, else nothing. A span costs its request a copy of the
 * fiber's whole context (about 40 services in the server) even when no exporter will ever see it:
 * on the webhook route two such spans took about 18 % of the server's CPU per delivery
 * (bench/README.md, webhooks). The platform's `http.server` span stays, so logs keep their trace ids.
 */
export const spanWhen = (traced: boolean, name: string) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  traced ? Effect.withSpan(self, name, { captureStackTrace: false }) : self
