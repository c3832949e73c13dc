import { SqlClient, SqlSchema } from "@effect/sql"
import { Duration, Effect, Schema } from "effect"

const QueueCounts = Schema.Struct({
  queued: Schema.Int,
  inProgress: Schema.Int,
  stuck: Schema.Int,
  oldestQueuedSeconds: Schema.NullOr(Schema.Number),
  failedLastHour: Schema.Int,
  dead: Schema.Int
})
export type QueueCounts = typeof QueueCounts.Type

/** Owns `indexing_jobs` and `indexing_job_events`. */
export class JobStore extends Effect.Service<JobStore>()("services/stores/JobStore", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    // Each count reads one partial index (queued, in_progress, failed), never the whole history.
    const queueCounts = SqlSchema.single({
      Request: Schema.Number,
      Result: QueueCounts,
      execute: (leaseSeconds) =>
        sql`
          SELECT
            count(*) FILTER (WHERE status = 'queued')::int AS queued,
            count(*) FILTER (WHERE status = 'in_progress')::int AS in_progress,
            count(*) FILTER (
              WHERE status = 'in_progress' AND locked_at < now() - make_interval(secs => ${leaseSeconds})
            )::int AS stuck,
            extract(epoch FROM now() - min(run_at) FILTER (WHERE status = 'queued' AND run_at <= now()))::float8
              AS oldest_queued_seconds,
            (SELECT count(*)::int FROM indexing_jobs
              WHERE status = 'failed' AND finished_at > now() - interval '1 hour') AS failed_last_hour,
            (SELECT count(*)::int FROM indexing_jobs WHERE status = 'failed') AS dead
          FROM indexing_jobs
          WHERE status IN ('queued', 'in_progress')`
    })

    return {
      queueCounts: (lease: Duration.Duration) =>
        queueCounts(Duration.toSeconds(lease)).pipe(Effect.orDie, Effect.withSpan("JobStore.queueCounts"))
    } as const
  })
}) {}
