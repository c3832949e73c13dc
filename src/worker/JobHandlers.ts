import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { ClaimedJob, JobError, JobType } from "../domain/Job.js"

/** Runs one attempt of a job; its success value is stored as the job's `result`. */
export type JobHandler = (job: ClaimedJob) => Effect.Effect<unknown, JobError>

/**
 * The handler for each job type. Issues plug their handlers in here (and tests their own), so the
 * worker never changes when a job type is added. A job with no handler fails permanently.
 */
export class JobHandlers extends Context.Tag("worker/JobHandlers")<
  JobHandlers,
  ReadonlyMap<JobType, JobHandler>
>() {
  static readonly layer = (handlers: Partial<Record<JobType, JobHandler>>) =>
    Layer.succeed(JobHandlers, new Map(Object.entries(handlers)) as ReadonlyMap<JobType, JobHandler>)
}
