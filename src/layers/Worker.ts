import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { JobType } from "../domain/Job.js"
import { AppConfig } from "../services/AppConfig.js"
import { makeIndexHandlers } from "../worker/handlers/IndexRepository.js"
import { makeProvisionWebhook } from "../worker/handlers/ProvisionWebhook.js"
import type { JobHandler } from "../worker/JobHandlers.js"
import { JobHandlers } from "../worker/JobHandlers.js"
import { runWorker } from "../worker/Worker.js"

/** The job handlers this build knows; each job type registers its handler here. */
export const JobHandlersLive = Layer.effect(
  JobHandlers,
  Effect.gen(function*() {
    const provisionWebhook = yield* makeProvisionWebhook
    const indexing = yield* makeIndexHandlers
    const handlers: Partial<Record<JobType, JobHandler>> = { ...indexing, provision_webhook: provisionWebhook }
    return JobHandlers.of(new Map(Object.entries(handlers)) as ReadonlyMap<JobType, JobHandler>)
  })
)

/** The worker runtime, unless `WORKER_ENABLED=false` (an API-only process). */
export const WorkerLive = Layer.scopedDiscard(Effect.gen(function*() {
  const config = yield* AppConfig
  if (!config.workerEnabled) return yield* Effect.logInfo("worker disabled (WORKER_ENABLED=false)")
  yield* runWorker
}))
