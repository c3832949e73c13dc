import * as Effect from "effect/Effect"
import { z } from "zod"
import { JobId } from "../../domain/Job.js"
import { Jobs } from "../../services/Jobs.js"
import { asToolFailure, decodeWith, defineTool } from "../Tool.js"

const decodeId = decodeWith(JobId)

export const JobTools = Effect.gen(function*() {
  const jobs = yield* Jobs
  return [
    defineTool({
      name: "get_job",
      title: "Get an indexing job",
      description: "One indexing job of your repositories by job_id (from register_repository or " +
        "reindex_repository): its type, status (queued, in_progress, completed, failed or cancelled), " +
        "attempts, timestamps, error message, result (files processed) and its event log (a few dozen " +
        "entries at most). Poll it every few seconds until status is completed, failed or cancelled.",
      category: "jobs",
      scope: "read",
      input: { job_id: z.uuid().describe("A job_id") },
      output: {
        job_id: z.string(),
        repository_id: z.string(),
        job_type: z.string(),
        status: z.enum(["queued", "in_progress", "completed", "failed", "cancelled"]),
        priority: z.number(),
        attempt: z.number(),
        max_attempts: z.number(),
        run_at: z.string(),
        queued_at: z.string(),
        started_at: z.string().nullable(),
        finished_at: z.string().nullable(),
        error_message: z.string().nullable(),
        error_code: z.string().nullable(),
        result: z.unknown(),
        events: z.array(z.object({
          event_type: z.string(),
          message: z.string().nullable(),
          context: z.unknown(),
          created_at: z.string()
        }))
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
      run: (args, key) =>
        Effect.flatMap(decodeId(args.job_id), (id) => jobs.get(id, key.userId)).pipe(
          Effect.map((job) => ({ ...job })),
          Effect.mapError(asToolFailure)
        )
    })
  ]
})
