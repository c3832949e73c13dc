import * as Effect from "effect/Effect"
import type { ClaimedJob, JobType } from "../../domain/Job.js"
import type { RepositoryId } from "../../domain/Repository.js"
import type { IndexRequest } from "../../services/Indexer.js"
import { Indexer } from "../../services/Indexer.js"
import type { JobHandler } from "../JobHandlers.js"

const field = (payload: unknown, name: string) => {
  const value = (payload as Record<string, unknown> | null)?.[name]
  return typeof value === "string" ? value : null
}

/** The indexing job types and how each asks the `Indexer`. */
export const makeIndexHandlers = Effect.gen(function*() {
  const indexer = yield* Indexer
  const handler = (mode: IndexRequest["mode"]): JobHandler => (job: ClaimedJob) =>
    indexer.index({
      jobId: job.id,
      repositoryId: job.repositoryId as RepositoryId,
      mode,
      commit: field(job.payload, "after") ?? field(job.payload, "commit"),
      branch: field(job.payload, "branch"),
      forced: (job.payload as { forced?: unknown } | null)?.forced === true
    })
  return {
    full_index: handler("full"),
    incremental_update: handler("incremental"),
    webhook_update: handler("incremental"),
    validate: handler("validate")
  } satisfies Partial<Record<JobType, JobHandler>>
})
