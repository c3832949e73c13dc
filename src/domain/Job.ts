import { HttpApiSchema } from "@effect/platform"
import { Data, Schema } from "effect"

export const JobId = Schema.UUID.pipe(Schema.brand("JobId"))
export type JobId = typeof JobId.Type
export const JobIdFromPath = HttpApiSchema.param("id", JobId)

export const JobType = Schema.Literal(
  "full_index",
  "incremental_update",
  "webhook_update",
  "validate",
  "provision_webhook"
)
export type JobType = typeof JobType.Type

export const JobStatus = Schema.Literal("queued", "in_progress", "completed", "failed", "cancelled")
export type JobStatus = typeof JobStatus.Type

/** A job as a worker holds it after claiming it. */
export interface ClaimedJob {
  readonly id: JobId
  readonly repositoryId: string
  readonly jobType: JobType
  readonly attempt: number
  readonly maxAttempts: number
  readonly payload: unknown
  readonly traceparent: string | null
}

/** A handler failure the queue retries with backoff until `max_attempts`. */
export class RetryableJobError extends Data.TaggedError("RetryableJobError")<{ readonly message: string }> {}

/** A handler failure no retry can fix (the repository is gone, the payload is invalid): fails at once. */
export class PermanentJobError extends Data.TaggedError("PermanentJobError")<{ readonly message: string }> {}

export type JobError = RetryableJobError | PermanentJobError

export class JobNotFound extends Schema.TaggedError<JobNotFound>()("JobNotFound", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 404 })) {}
