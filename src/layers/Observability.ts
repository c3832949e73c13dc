import * as OtlpSerialization from "@effect/opentelemetry/OtlpSerialization"
import * as OtlpTracer from "@effect/opentelemetry/OtlpTracer"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"
import * as HashMap from "effect/HashMap"
import * as HashSet from "effect/HashSet"
import * as Inspectable from "effect/Inspectable"
import * as Layer from "effect/Layer"
import * as List from "effect/List"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Tracer from "effect/Tracer"
import { AppConfig } from "../services/AppConfig.js"

/** `k=v,k2=v2` (OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_HEADERS), values percent-decoded. */
const keyValues = (list: string) => {
  const out: Record<string, string> = {}
  for (const pair of list.split(",")) {
    const at = pair.indexOf("=")
    if (at <= 0) continue
    try {
      out[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim())
    } catch {
      // a malformed pair is skipped, as the OpenTelemetry SDKs do
    }
  }
  return out
}

/**
 * JSON lines: timestamp, level, message, annotations, and the trace and span ids of the span the
 * log was written in, so a log line leads to its trace.
 */
const jsonLogger = Logger.make<unknown, string>(({ annotations, cause, context, date, fiberId, logLevel, message }) => {
  const line: Record<string, unknown> = {
    timestamp: date.toISOString(),
    level: logLevel.label,
    message: Inspectable.toStringUnknown(Array.isArray(message) && message.length === 1 ? message[0] : message)
  }
  for (const [key, value] of HashMap.toEntries(annotations)) line[key] = value
  const span = Context.getOption(FiberRefs.getOrDefault(context, FiberRef.currentContext), Tracer.ParentSpan)
  if (Option.isSome(span)) {
    line.trace_id = span.value.traceId
    line.span_id = span.value.spanId
  }
  const logSpans = FiberRefs.getOrDefault(context, FiberRef.currentLogSpan)
  if (List.isCons(logSpans)) line.spans = List.toArray(logSpans).map((s) => s.label)
  if (!Cause.isEmpty(cause)) line.cause = Cause.pretty(cause, { renderErrorCause: true })
  line.fiber = fiberId._tag === "Runtime" ? `#${fiberId.id}` : undefined
  return JSON.stringify(line)
})

/**
 * One logger at `LOG_LEVEL`: JSON lines by default, pretty for a terminal (`LOG_FORMAT=pretty`).
 * It takes the place of every installed logger (Effect's default and the pretty one `runMain` adds),
 * so nothing logs twice; `runMain` still reports a boot failure after this layer is released.
 */
export const LoggingLive = Layer.unwrapEffect(Effect.gen(function*() {
  const config = yield* AppConfig
  const logger = config.logFormat === "json" ? Logger.withConsoleLog(jsonLogger) : Logger.prettyLoggerDefault
  return Layer.merge(
    Layer.scopedDiscard(
      Effect.locallyScopedWith(
        FiberRef.currentLoggers,
        () => HashSet.make<Array<Logger.Logger<unknown, unknown>>>(logger)
      )
    ),
    Logger.minimumLogLevel(config.logLevel)
  )
}))

/**
 * Traces exported over OTLP/HTTP (JSON) when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`)
 * is set, with the standard `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_EXPORTER_OTLP_HEADERS`
 * and `OTEL_SDK_DISABLED`. Unset: spans stay in process, and the worker makes no span per job.
 */
export const TracingLive = Layer.unwrapEffect(Effect.gen(function*() {
  const config = yield* AppConfig
  if (!config.tracesExported || Option.isNone(config.otelEndpoint)) return Layer.empty
  yield* Effect.logInfo("exporting traces").pipe(Effect.annotateLogs({ endpoint: config.otelEndpoint.value }))
  return OtlpTracer.layer({
    url: config.otelEndpoint.value,
    resource: {
      serviceName: config.otelServiceName,
      serviceVersion: config.version,
      attributes: keyValues(config.otelResourceAttributes)
    },
    headers: keyValues(Redacted.value(config.otelHeaders)),
    exportInterval: "1 second"
  }).pipe(Layer.provide(OtlpSerialization.layerJson), Layer.provide(FetchHttpClient.layer))
}))
