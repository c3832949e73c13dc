import { Context, Effect, Layer, Tracer } from "effect"

/** Counts the SQL statements run anywhere under this layer, through the tracer every statement reports to. */
export class SqlCounter extends Context.Tag("test/SqlCounter")<SqlCounter, { readonly count: () => number }>() {}

export const SqlCounterLive = Layer.unwrapEffect(Effect.gen(function*() {
  const base = yield* Effect.tracer
  let statements = 0
  const tracer = Tracer.make({
    span: (name, ...rest) => {
      if (name === "sql.execute") statements++
      return base.span(name, ...rest)
    },
    context: base.context
  })
  return Layer.merge(Layer.setTracer(tracer), Layer.succeed(SqlCounter, { count: () => statements }))
}))
