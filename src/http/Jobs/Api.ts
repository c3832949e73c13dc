import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Schema from "effect/Schema"
import {
  JobConflict,
  JobDetail,
  JobId,
  JobIdFromPath,
  JobNotFound,
  JobView,
  LegacyJobStatus
} from "../../domain/Job.js"
import { RepositoryId, RepositoryNotFound } from "../../domain/Repository.js"
import { Authentication, RequiredScope } from "../Auth/Api.js"

const RepositoryIdFromPath = HttpApiSchema.param("id", RepositoryId)

export class JobsApi extends HttpApiGroup.make("jobs")
  .add(HttpApiEndpoint.get("getJob")`/jobs/${JobIdFromPath}`.addSuccess(JobDetail).addError(JobNotFound))
  .add(
    HttpApiEndpoint.get("listRepositoryJobs")`/repositories/${RepositoryIdFromPath}/jobs`
      .setUrlParams(Schema.Struct({
        limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 200)))
      }))
      .addSuccess(Schema.Struct({ jobs: Schema.Array(JobView) }))
      .addError(RepositoryNotFound)
  )
  .add(
    HttpApiEndpoint.post("cancelJob")`/jobs/${JobIdFromPath}/cancel`
      .addSuccess(JobView)
      .addError(JobNotFound)
      .addError(JobConflict)
      .annotate(RequiredScope, "write")
      .annotate(OpenApi.Summary, "Cancel a queued or running job (a running one is interrupted)")
  )
  .add(
    HttpApiEndpoint.post("retryJob")`/jobs/${JobIdFromPath}/retry`
      .addSuccess(JobView)
      .addError(JobNotFound)
      .addError(JobConflict)
      .annotate(RequiredScope, "write")
      .annotate(OpenApi.Summary, "Queue a failed job again with fresh attempts")
  )
  .add(
    HttpApiEndpoint.get("indexStatus", "/index/status")
      .setUrlParams(Schema.Struct({ job_id: JobId }))
      .addSuccess(LegacyJobStatus)
      .addError(JobNotFound)
      .annotate(OpenApi.Summary, "The original job status route, kept for existing clients")
  )
  .middleware(Authentication)
  .prefix("/api/v1")
  .annotate(OpenApi.Title, "Jobs")
{}
