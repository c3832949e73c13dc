import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Tracer from "effect/Tracer"
import { currentTraceparent } from "../../src/services/TraceContext.js"

describe("currentTraceparent", () => {
  it.effect("is the current span's traceparent, in its caller's trace", () =>
    Effect.gen(function*() {
      const [traceparent, span] = yield* Effect.all([currentTraceparent, Effect.currentSpan]).pipe(
        Effect.withSpan("outer")
      )
      expect(traceparent).toBe(`00-${span.traceId}-${span.spanId}-01`)
      const caller = Tracer.externalSpan({ traceId: "a".repeat(32), spanId: "b".repeat(16) })
      const child = yield* currentTraceparent.pipe(Effect.withSpan("child", { parent: caller }))
      expect(child).toMatch(/^00-a{32}-(?!b{16})[0-9a-f]{16}-01$/)
    }))

  it.effect("is null outside any span, and under a parent that is only an external span", () =>
    Effect.gen(function*() {
      expect(yield* currentTraceparent).toBeNull()
      const external = Tracer.externalSpan({ traceId: "a".repeat(32), spanId: "b".repeat(16) })
      expect(yield* currentTraceparent.pipe(Effect.withParentSpan(external))).toBeNull()
    }))
})
