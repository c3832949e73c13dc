import { Effect, Layer, Logger } from "effect"
import { AppConfig } from "../services/AppConfig.js"

/**
 * One logger at `LOG_LEVEL`: JSON lines by default, pretty for a terminal (`LOG_FORMAT=pretty`).
 * It replaces both Effect's default logger and the pretty one `runMain` installs, so nothing logs twice.
 */
export const LoggingLive = Layer.unwrapEffect(Effect.gen(function*() {
  const config = yield* AppConfig
  const logger = config.logFormat === "json" ? Logger.jsonLogger : Logger.prettyLoggerDefault
  return Layer.mergeAll(
    Logger.replace(Logger.defaultLogger, logger),
    Logger.replace(Logger.prettyLoggerDefault, logger),
    Logger.minimumLogLevel(config.logLevel)
  )
}))
