import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { ClaimedJob, JobId, JobType } from "../../domain/Job.js"
import { AppConfig } from "../AppConfig.js"
import { currentTraceparent, spanWhen } from "../TraceContext.js"
import { DirectQuery } from "./DirectQuery.js"
import { listen } from "./Listen.js"

/** NOTIFY channel: a job became runnable (its payload is the job type). */
export const JOBS_CHANNEL = "kotadb_jobs"
/** NOTIFY channel: a job was cancelled (its payload is the job id). */
export const CANCEL_CHANNEL = "kotadb_job_cancel"

const QueueCounts = Schema.Struct({
  jobType: Schema.String,
  queued: Schema.Int,
  inProgress: Schema.Int,
  stuck: Schema.Int,
  oldestQueuedSeconds: Schema.NullOr(Schema.Number),
  failedLastHour: Schema.Int,
  dead: Schema.Int
})
export type QueueCounts = typeof QueueCounts.Type

export interface NewJob {
  readonly repositoryId: string
  readonly jobType: JobType
  readonly requestedBy?: string | null
  readonly payload?: unknown
  readonly priority?: number
  readonly runAt?: Date
  readonly maxAttempts?: number
  readonly traceparent?: string | null
}

export interface JobRow {
  readonly jobId: JobId
  readonly repositoryId: string
  readonly jobType: JobType
  readonly status: "queued" | "in_progress" | "completed" | "failed" | "cancelled"
  readonly priority: number
  readonly attempt: number
  readonly maxAttempts: number
  readonly runAt: string
  readonly queuedAt: string
  readonly startedAt: string | null
  readonly finishedAt: string | null
  readonly errorMessage: string | null
  readonly errorCode: string | null
  readonly result: unknown
  readonly updatedAt: string
  readonly gitUrl: string
}

const FINISH_AND_CLAIM = "SELECT * FROM indexing_jobs_finish_and_claim($1, $2::uuid[], $3::jsonb[], $4)"

interface ClaimedRow {
  readonly id: JobId
  readonly repository_id: string
  readonly job_type: JobType
  readonly attempt: number
  readonly max_attempts: number
  readonly payload: unknown
  readonly traceparent: string | null
}

/**
 * Owns `indexing_jobs` and `indexing_job_events`. Every transition out of in_progress is fenced by
 * `locked_by`. Every UPDATE of a job sets `updated_at` itself: no trigger does (0014).
 */
export class JobStore extends Effect.Service<JobStore>()("services/stores/JobStore", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const pg = yield* PgClient.PgClient
    const direct = yield* DirectQuery
    const traced = (yield* AppConfig).tracesExported

    /**
     * One row per job type that has queued, running or failed jobs. Each part reads one partial index
     * (claim, in_progress, failed; the last index-only, as it carries job_type since migration 0020), never the
     * finished history. One `status IN ('queued', 'in_progress')` scan would match neither partial index,
     * and Postgres scans the whole table for it.
     */
    const queueCounts = SqlSchema.findAll({
      Request: Schema.Number,
      Result: QueueCounts,
      execute: (leaseSeconds) =>
        sql`
          SELECT
            job_type,
            sum(queued)::int AS queued,
            sum(in_progress)::int AS in_progress,
            sum(stuck)::int AS stuck,
            max(oldest_queued_seconds) AS oldest_queued_seconds,
            sum(failed_last_hour)::int AS failed_last_hour,
            sum(dead)::int AS dead
          FROM (
            SELECT job_type, count(*) AS queued, 0 AS in_progress, 0 AS stuck,
              extract(epoch FROM now() - min(run_at) FILTER (WHERE run_at <= now()))::float8 AS oldest_queued_seconds,
              0 AS failed_last_hour, 0 AS dead
            FROM indexing_jobs WHERE status = 'queued' GROUP BY job_type
            UNION ALL
            SELECT job_type, 0, count(*),
              count(*) FILTER (WHERE locked_at < now() - make_interval(secs => ${leaseSeconds})), NULL, 0, 0
            FROM indexing_jobs WHERE status = 'in_progress' GROUP BY job_type
            UNION ALL
            SELECT job_type, 0, 0, 0, NULL, count(*) FILTER (WHERE finished_at > now() - interval '1 hour'), count(*)
            FROM indexing_jobs WHERE status = 'failed' GROUP BY job_type
          ) counts
          GROUP BY job_type
          ORDER BY job_type`
    })

    /** Insert and wake the workers in one statement (so in the caller's transaction, if any). */
    const enqueue = (job: NewJob) =>
      Effect.flatMap(currentTraceparent, (current) => enqueueWith({ ...job, traceparent: job.traceparent ?? current }))
        .pipe(
          Effect.withSpan("JobStore.enqueue", { attributes: { jobType: job.jobType } })
        )

    const enqueueWith = (job: NewJob) =>
      sql<{ id: JobId }>`
        WITH inserted AS (
          INSERT INTO indexing_jobs (repository_id, requested_by, job_type, payload, priority, run_at, max_attempts, traceparent)
          VALUES (${job.repositoryId}, ${job.requestedBy ?? null}, ${job.jobType}, ${pg.json(job.payload ?? {})},
                  ${job.priority ?? 0}, ${job.runAt ?? sql`now()`}, ${job.maxAttempts ?? 10}, ${
        job.traceparent ?? null
      })
          RETURNING id, job_type
        )
        SELECT id, pg_notify(${JOBS_CHANNEL}, job_type) FROM inserted`.pipe(
        Effect.map((rows) => rows[0]!.id),
        Effect.orDie
      )

    /**
     * Enqueues unless a job of this type is already queued for the repository, whose id is returned
     * instead. The unique index of migration 0002 settles concurrent callers: the loser's insert does
     * nothing, and its second look (a new statement, so a new snapshot) finds the winner's job.
     */
    const enqueueCoalesced = (job: NewJob & { readonly jobType: "full_index" | "provision_webhook" }) =>
      Effect.flatMap(
        currentTraceparent,
        (current) => enqueueCoalescedWith({ ...job, traceparent: job.traceparent ?? current })
      ).pipe(
        Effect.withSpan("JobStore.enqueueCoalesced", { attributes: { jobType: job.jobType } })
      )

    const enqueueCoalescedWith = (job: NewJob & { readonly jobType: "full_index" | "provision_webhook" }) => {
      const once = sql<{ id: JobId; created: boolean }>`
        WITH existing AS (
          SELECT id FROM indexing_jobs
          WHERE repository_id = ${job.repositoryId} AND job_type = ${job.jobType} AND status = 'queued'
          ORDER BY attempt, run_at LIMIT 1
        ), inserted AS (
          INSERT INTO indexing_jobs (repository_id, requested_by, job_type, payload, priority, max_attempts, traceparent)
          SELECT ${job.repositoryId}, ${job.requestedBy ?? null}, ${job.jobType}, ${pg.json(job.payload ?? {})},
                 ${job.priority ?? 0}, ${job.maxAttempts ?? 10}, ${job.traceparent ?? null}
          WHERE NOT EXISTS (SELECT 1 FROM existing)
          ON CONFLICT (repository_id, job_type)
            WHERE status = 'queued' AND attempt = 0 AND job_type IN ('full_index', 'provision_webhook')
            DO NOTHING
          RETURNING id, job_type
        )
        SELECT id, true AS created, pg_notify(${JOBS_CHANNEL}, job_type) FROM inserted
        UNION ALL
        SELECT id, false, NULL FROM existing`
      return once.pipe(
        Effect.flatMap((rows) => rows.length > 0 ? Effect.succeed(rows) : once),
        Effect.map((rows) => rows[0]!),
        Effect.orDie
      )
    }

    /**
     * Completes this worker's finished jobs (fenced by `locked_by`: a job whose lease was lost is left
     * alone) and claims up to `limit` more, in one round trip (migration 0006). The rows are not run
     * through Schema: the function's columns are typed by Postgres and `job_type` by its CHECK, and
     * decoding every claimed row cost more client CPU than the claim itself. The worker's busiest
     * statement, so it goes through DirectQuery, with its span only when traces are exported.
     */
    const finishAndClaim = (
      workerId: string,
      done: ReadonlyArray<{ readonly id: JobId; readonly result: unknown }>,
      limit: number
    ) =>
      direct.run<ClaimedRow>(FINISH_AND_CLAIM, [
        workerId,
        done.map((r) => r.id),
        done.map((r) => JSON.stringify(r.result ?? null)),
        limit
      ]).pipe(Effect.map((rows) =>
        rows.map((row): ClaimedJob => ({
          id: row.id,
          repositoryId: row.repository_id,
          jobType: row.job_type,
          attempt: row.attempt,
          maxAttempts: row.max_attempts,
          payload: row.payload,
          traceparent: row.traceparent
        }))
      ))

    /**
     * A failed attempt: back to the queue after `retry.inMs` (due at `retry.at`) while attempts remain,
     * otherwise failed for good (kept as a dead letter, retryable through the API); `retry` null is a
     * non-retryable error. The transition and its event (`retry_scheduled` or `failed`) are one
     * statement: no reader or crash ever sees one without the other.
     */
    const fail = (
      workerId: string,
      id: JobId,
      error: string,
      retry: { readonly at: Date; readonly inMs: number } | null,
      code: string | null
    ) =>
      sql<{ status: "queued" | "failed" }>`
        WITH failed AS (
          UPDATE indexing_jobs
          SET status = CASE WHEN ${retry !== null} AND attempt < max_attempts THEN 'queued' ELSE 'failed' END,
              run_at = CASE WHEN ${retry !== null} AND attempt < max_attempts THEN ${
        retry?.at ?? sql`now()`
      } ELSE run_at END,
              finished_at = CASE WHEN ${retry !== null} AND attempt < max_attempts THEN NULL ELSE now() END,
              error_message = ${error.slice(0, 4000)}, error_code = ${code}, locked_by = NULL, locked_at = NULL,
              updated_at = now()
          WHERE id = ${id} AND locked_by = ${workerId} AND status = 'in_progress'
          RETURNING id, status, attempt
        ), logged AS (
          INSERT INTO indexing_job_events (job_id, event_type, message, context)
          SELECT id, CASE WHEN status = 'queued' THEN 'retry_scheduled' ELSE 'failed' END, ${error},
                 CASE WHEN status = 'queued'
                   THEN jsonb_build_object('attempt', attempt, 'retry_in_ms', ${retry?.inMs ?? 0}::integer)
                   ELSE jsonb_build_object('attempt', attempt, 'permanent', ${retry === null}::boolean)
                 END || CASE WHEN ${code}::text IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('code', ${code}::text) END
          FROM failed
        )
        SELECT status FROM failed`.pipe(Effect.map((rows) => rows[0]?.status))

    /** Hands unfinished jobs back at shutdown; the interrupted attempt does not count. */
    const release = (workerId: string, ids: ReadonlyArray<JobId>) =>
      ids.length === 0 ? Effect.succeed(0) : sql`
        WITH released AS (
          UPDATE indexing_jobs
          SET status = 'queued', attempt = greatest(attempt - 1, 0), run_at = now(), locked_by = NULL, locked_at = NULL,
              updated_at = now()
          WHERE id = ANY(${ids}::uuid[]) AND locked_by = ${workerId}
          RETURNING job_type
        )
        SELECT pg_notify(${JOBS_CHANNEL}, job_type) FROM released`.pipe(Effect.map((rows) => rows.length))

    /**
     * Refreshes the lease of the jobs this worker holds; returns those it still holds. Like `release`,
     * fenced by locked_by alone (the lease CHECK sets it exactly while in_progress): a status predicate
     * would let the planner scan the in_progress partial index instead of the ids (0012).
     */
    const heartbeat = (workerId: string, ids: ReadonlyArray<JobId>): Effect.Effect<ReadonlyArray<JobId>, SqlError> =>
      ids.length === 0 ? Effect.succeed([]) : sql<{ id: JobId }>`
        UPDATE indexing_jobs SET locked_at = now(), updated_at = now()
        WHERE id = ANY(${ids}::uuid[]) AND locked_by = ${workerId}
        RETURNING id`.pipe(Effect.map((rows) => rows.map((row) => row.id)))

    /**
     * Jobs whose lease expired go back to the queue, or fail once their attempts are used up. The
     * event is written by the same statement, before any worker can be woken to run the job again.
     */
    const rescue = (lease: Duration.Duration) =>
      sql<{ id: JobId; status: string }>`
        WITH rescued AS (
          UPDATE indexing_jobs
          SET status = CASE WHEN attempt < max_attempts THEN 'queued' ELSE 'failed' END,
              finished_at = CASE WHEN attempt < max_attempts THEN NULL ELSE now() END,
              run_at = now(), locked_by = NULL, locked_at = NULL, updated_at = now(), error_code = NULL,
              error_message = 'lease expired: the worker stopped heartbeating (crashed or lost its connection)'
          WHERE status = 'in_progress' AND locked_at < now() - make_interval(secs => ${Duration.toSeconds(lease)})
          RETURNING id, status, job_type
        ), logged AS (
          INSERT INTO indexing_job_events (job_id, event_type, message)
          SELECT id, 'lease_expired',
                 CASE WHEN status = 'queued' THEN 'lease expired; queued again' ELSE 'lease expired; attempts exhausted' END
          FROM rescued
        )
        SELECT id, status, CASE WHEN status = 'queued' THEN pg_notify(${JOBS_CHANNEL}, job_type) END FROM rescued`

    const appendEvents = (events: ReadonlyArray<{ jobId: JobId; type: string; message: string; context?: unknown }>) =>
      events.length === 0 ? Effect.void : sql`
        INSERT INTO indexing_job_events (job_id, event_type, message, context)
        SELECT * FROM unnest(${events.map((e) => e.jobId)}::uuid[], ${events.map((e) => e.type)}::text[],
                             ${events.map((e) => e.message)}::text[], ${
        events.map((e) => JSON.stringify(e.context ?? {}))
      }::jsonb[])`.pipe(Effect.asVoid)

    /** A queued or running job cancelled, with its `cancelled` event, in one statement. */
    const cancel = (id: JobId) =>
      sql<{ id: JobId; previous: string }>`
        WITH target AS (SELECT id, status AS previous FROM indexing_jobs WHERE id = ${id} FOR UPDATE),
        updated AS (
          UPDATE indexing_jobs j
          SET status = 'cancelled', finished_at = now(), locked_by = NULL, locked_at = NULL, updated_at = now()
          FROM target WHERE j.id = target.id AND j.status IN ('queued', 'in_progress')
          RETURNING j.id, target.previous
        ), logged AS (
          INSERT INTO indexing_job_events (job_id, event_type, message)
          SELECT id, 'cancelled', 'cancelled while ' || previous FROM updated
        )
        SELECT id, previous, pg_notify(${CANCEL_CHANNEL}, id::text) FROM updated`.pipe(
        Effect.map((rows) => rows[0])
      )

    const viewColumns = sql.literal(`
      j.id AS job_id, j.repository_id, j.job_type, j.status, j.priority, j.attempt, j.max_attempts,
      to_json(j.run_at)#>>'{}' AS run_at, to_json(j.queued_at)#>>'{}' AS queued_at,
      to_json(j.started_at)#>>'{}' AS started_at, to_json(j.finished_at)#>>'{}' AS finished_at,
      j.error_message, j.error_code, j.result, to_json(j.updated_at)#>>'{}' AS updated_at, r.git_url`)

    /** A job of one of the user's repositories; another tenant's job is simply not found. */
    const findForUser = (id: JobId, userId: string) =>
      sql<JobRow>`
        SELECT ${viewColumns} FROM indexing_jobs j JOIN repositories r ON r.id = j.repository_id
        WHERE j.id = ${id} AND r.user_id = ${userId}`.pipe(Effect.map((rows) => Option.fromNullable(rows[0])))

    const listForRepository = (repositoryId: string, userId: string, limit: number) =>
      sql<JobRow>`
        SELECT ${viewColumns} FROM indexing_jobs j JOIN repositories r ON r.id = j.repository_id
        WHERE j.repository_id = ${repositoryId} AND r.user_id = ${userId}
        ORDER BY j.created_at DESC, j.id DESC LIMIT ${limit}`

    const ownsRepository = (repositoryId: string, userId: string) =>
      sql<{ owned: boolean }>`
        SELECT EXISTS (SELECT 1 FROM repositories WHERE id = ${repositoryId} AND user_id = ${userId}) AS owned`.pipe(
        Effect.map((rows) => rows[0]?.owned === true)
      )

    const eventsOf = (id: JobId) =>
      sql<{ eventType: string; message: string | null; context: unknown; createdAt: string }>`
        SELECT event_type, message, context, to_json(created_at)#>>'{}' AS created_at
        FROM indexing_job_events WHERE job_id = ${id} ORDER BY id LIMIT 500`

    const queuedAt = (id: JobId) =>
      sql<{ queuedAt: string }>`SELECT to_json(queued_at)#>>'{}' AS queued_at FROM indexing_jobs WHERE id = ${id}`.pipe(
        Effect.map((rows) => Option.fromNullable(rows[0]?.queuedAt))
      )

    /** A failed job (dead letter) back to the queue with fresh attempts, and its `retried` event. */
    const retry = (id: JobId) =>
      sql<{ id: JobId }>`
        WITH retried AS (
          UPDATE indexing_jobs
          SET status = 'queued', attempt = 0, run_at = now(), finished_at = NULL, error_message = NULL, error_code = NULL,
              updated_at = now()
          WHERE id = ${id} AND status = 'failed'
          RETURNING id, job_type
        ), logged AS (
          INSERT INTO indexing_job_events (job_id, event_type, message)
          SELECT id, 'retried', 'queued again through the API' FROM retried
        )
        SELECT id, pg_notify(${JOBS_CHANNEL}, job_type) FROM retried`.pipe(Effect.map((rows) => rows.length > 0))

    // No stack trace per span: capturing one took 2.7 % of the worker's CPU in single mode, when
    // finishAndClaim still used this helper (bench/README.md, queue).
    const orDie = <A, E, R>(name: string) => (effect: Effect.Effect<A, E, R>) =>
      effect.pipe(Effect.orDie, Effect.withSpan(`JobStore.${name}`, { captureStackTrace: false }))

    return {
      queueCounts: (lease: Duration.Duration) => queueCounts(Duration.toSeconds(lease)).pipe(orDie("queueCounts")),
      enqueue,
      enqueueCoalesced,
      finishAndClaim: (
        workerId: string,
        done: ReadonlyArray<{ readonly id: JobId; readonly result: unknown }>,
        limit: number
      ): Effect.Effect<ReadonlyArray<ClaimedJob>> =>
        finishAndClaim(workerId, done, limit).pipe(Effect.orDie, spanWhen(traced, "JobStore.finishAndClaim")),
      fail: (
        workerId: string,
        id: JobId,
        error: string,
        retry: { readonly at: Date; readonly inMs: number } | null,
        code: string | null = null
      ) => fail(workerId, id, error, retry, code).pipe(orDie("fail")),
      release: (workerId: string, ids: ReadonlyArray<JobId>) => release(workerId, ids).pipe(orDie("release")),
      heartbeat: (workerId: string, ids: ReadonlyArray<JobId>) => heartbeat(workerId, ids).pipe(orDie("heartbeat")),
      rescue: (lease: Duration.Duration) => rescue(lease).pipe(orDie("rescue")),
      appendEvents: (events: ReadonlyArray<{ jobId: JobId; type: string; message: string; context?: unknown }>) =>
        appendEvents(events).pipe(orDie("appendEvents")),
      cancel: (id: JobId) => cancel(id).pipe(orDie("cancel")),
      /** Wake-ups: a job was enqueued somewhere. Empty when LISTEN is unavailable (polling covers it). */
      findForUser: (id: JobId, userId: string) => findForUser(id, userId).pipe(orDie("findForUser")),
      listForRepository: (repositoryId: string, userId: string, limit: number) =>
        listForRepository(repositoryId, userId, limit).pipe(orDie("listForRepository")),
      ownsRepository: (repositoryId: string, userId: string) =>
        ownsRepository(repositoryId, userId).pipe(orDie("ownsRepository")),
      eventsOf: (id: JobId) => eventsOf(id).pipe(orDie("eventsOf")),
      queuedAt: (id: JobId) => queuedAt(id).pipe(orDie("queuedAt")),
      /** false when the job is not failed; fails with the SqlError of a conflicting queued duplicate. */
      retry: (id: JobId) => retry(id).pipe(Effect.withSpan("JobStore.retry")),
      wakeups: listen(pg, JOBS_CHANNEL),
      cancellations: listen(pg, CANCEL_CHANNEL).pipe(Stream.map((id) => id as JobId)),
      /**
       * One retention batch: the next `limit` jobs by id after `after`, of which those finished before
       * `cutoff` are deleted with their events (by cascade), unless they stay (`indexing_job_retained`,
       * migration 0019). A job retried meanwhile is queued again and the delete skips it. Ids of jobs
       * created before migration 0013 do not follow time, so the caller walks the whole table.
       */
      deleteExpired: (cutoff: Date, after: string, limit: number) =>
        sql<{ last: string | null; scanned: number; expired: number; deleted: number }>`
          WITH scanned AS (
            SELECT id, status IN ('completed', 'failed', 'cancelled') AND finished_at < ${cutoff} AS expired
            FROM indexing_jobs WHERE id > ${after}::uuid ORDER BY id LIMIT ${limit}
          ), gone AS (
            DELETE FROM indexing_jobs j USING scanned s
            WHERE j.id = s.id AND s.expired AND j.status IN ('completed', 'failed', 'cancelled')
              AND NOT indexing_job_retained(s.id)
            RETURNING 1
          )
          SELECT (SELECT max(id::text) FROM scanned) AS last, (SELECT count(*)::int FROM scanned) AS scanned,
                 (SELECT count(*)::int FROM scanned WHERE expired) AS expired,
                 (SELECT count(*)::int FROM gone) AS deleted`.pipe(
          Effect.map((rows) => rows[0]!),
          orDie("deleteExpired")
        )
    } as const
  })
}) {}
