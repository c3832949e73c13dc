import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { AppConfig } from "../services/AppConfig.js"
import { Retention } from "../services/Retention.js"

/**
 * Housekeeping beside the HTTP server and the worker: a retention sweep at boot and every
 * `RETENTION_INTERVAL`, in one process at a time (the others find the lock taken and skip).
 */
export const MaintenanceLive = Layer.scopedDiscard(Effect.gen(function*() {
  const config = yield* AppConfig
  const retention = yield* Retention
  yield* retention.sweep.pipe(
    Effect.tap(Option.match({
      onNone: () => Effect.logDebug("retention: another process is sweeping"),
      onSome: (swept) =>
        swept.usage + swept.deliveries + swept.jobs === 0
          ? Effect.void
          : Effect.logInfo("retention sweep").pipe(Effect.annotateLogs({ ...swept }))
    })),
    Effect.catchAllCause(Effect.logError),
    Effect.repeat(Schedule.spaced(config.retentionInterval)),
    Effect.annotateLogs({ service: "Retention" }),
    Effect.forkScoped
  )
}))
