import { Effect, FiberRef, HashSet, Layer, Logger } from "effect"
import { AppConfig } from "../services/AppConfig.js"

/**
 * One logger at `LOG_LEVEL`: JSON lines by default, pretty for a terminal (`LOG_FORMAT=pretty`).
 * It takes the place of every installed logger (Effect's default and the pretty one `runMain` adds),
 * so nothing logs twice; `runMain` still reports a boot failure after this layer is released.
 */
export const LoggingLive = Layer.unwrapEffect(Effect.gen(function*() {
  const config = yield* AppConfig
  const logger = config.logFormat === "json" ? Logger.withConsoleLog(Logger.jsonLogger) : Logger.prettyLoggerDefault
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
