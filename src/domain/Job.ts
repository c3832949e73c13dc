import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Data from "effect/Data"
import * as Schema from "effect/Schema"

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

/**
 * Why a job failed, for tenants and their tools: stored in the job's `error_code` and its failure
 * event beside the message. Only failures a tenant can act on have one.
 */
export type JobErrorCode =
  | "repository_too_large"
  | "fetch_timeout"
  | "fetch_too_large"
  | "insufficient_disk"

/** A handler failure the queue retries with backoff until `max_attempts`. */
export class RetryableJobError extends Data.TaggedError("RetryableJobError")<{
  readonly message: string
  readonly code?: JobErrorCode
}> {}

/** A handler failure no retry can fix (the repository is gone, the payload is invalid): fails at once. */
export class PermanentJobError extends Data.TaggedError("PermanentJobError")<{
  readonly message: string
  readonly code?: JobErrorCode
}> {}

export type JobError = RetryableJobError | PermanentJobError

export class JobNotFound extends Schema.TaggedError<JobNotFound>()("JobNotFound", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 404 })) {}

export class JobConflict extends Schema.TaggedError<JobConflict>()("JobConflict", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 409 })) {}

const Timestamp = Schema.NullOr(Schema.String)
// Schema.Unknown's generated JSON Schema carries a fixed `$id`, which OpenAPI 3.1 refuses to see twice;
// an annotation with `anyOf` replaces it (one without `type`/`anyOf` would only be merged in).
const AnyJson = Schema.Unknown.annotations({
  jsonSchema: {
    description: "any JSON value",
    anyOf: [{ type: "object" }, { type: "array" }, { type: "string" }, { type: "number" }, { type: "boolean" }, {
      type: "null"
    }]
  }
})

export const JobView = Schema.Struct({
  job_id: JobId,
  repository_id: Schema.String,
  job_type: JobType,
  status: JobStatus,
  priority: Schema.Int,
  attempt: Schema.Int,
  max_attempts: Schema.Int,
  run_at: Schema.String,
  queued_at: Schema.String,
  started_at: Timestamp,
  finished_at: Timestamp,
  error_message: Schema.NullOr(Schema.String),
  /** With `error_message` when the failure has a code: `repository_too_large`, `fetch_timeout`, … */
  error_code: Schema.NullOr(Schema.String),
  result: AnyJson
})
export type JobView = typeof JobView.Type

export const JobEventView = Schema.Struct({
  event_type: Schema.String,
  message: Schema.NullOr(Schema.String),
  context: AnyJson,
  created_at: Schema.String
})

export const JobDetail = Schema.Struct({ ...JobView.fields, events: Schema.Array(JobEventView) })

/** The original `GET /api/v1/index/status` body, kept for its clients. */
export const LegacyJobStatus = Schema.Struct({
  job: Schema.Struct({
    id: JobId,
    repo_path: Schema.String,
    status: JobStatus,
    progress: Schema.Null,
    started_at: Timestamp,
    updated_at: Schema.String,
    error: Schema.NullOr(Schema.String)
  })
})
