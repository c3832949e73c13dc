import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { JobId, JobView } from "../domain/Job.js"
import { JobConflict, JobNotFound } from "../domain/Job.js"
import { RepositoryNotFound } from "../domain/Repository.js"
import type { JobRow } from "./stores/JobStore.js"
import { JobStore } from "./stores/JobStore.js"

const view = (row: JobRow): JobView => ({
  job_id: row.jobId,
  repository_id: row.repositoryId,
  job_type: row.jobType,
  status: row.status,
  priority: row.priority,
  attempt: row.attempt,
  max_attempts: row.maxAttempts,
  run_at: row.runAt,
  queued_at: row.queuedAt,
  started_at: row.startedAt,
  finished_at: row.finishedAt,
  error_message: row.errorMessage,
  error_code: row.errorCode,
  result: row.result ?? null
})

/** The tenant-facing view of the queue: every method is scoped to the calling key's user. */
export class Jobs extends Effect.Service<Jobs>()("services/Jobs", {
  effect: Effect.gen(function*() {
    const store = yield* JobStore
    const notFound = (id: JobId) => new JobNotFound({ message: `no job ${id}` })

    const find = (id: JobId, userId: string) =>
      store.findForUser(id, userId).pipe(
        Effect.flatMap(Option.match({ onNone: () => Effect.fail(notFound(id)), onSome: Effect.succeed }))
      )

    const get = (id: JobId, userId: string) =>
      Effect.gen(function*() {
        const row = yield* find(id, userId)
        const events = yield* store.eventsOf(id)
        return {
          ...view(row),
          events: events.map((e) => ({
            event_type: e.eventType,
            message: e.message,
            context: e.context,
            created_at: e.createdAt
          }))
        }
      }).pipe(Effect.withSpan("Jobs.get"))

    const listForRepository = (repositoryId: string, userId: string, limit: number) =>
      Effect.gen(function*() {
        if (!(yield* store.ownsRepository(repositoryId, userId))) {
          return yield* new RepositoryNotFound({ message: `no repository ${repositoryId}` })
        }
        return { jobs: (yield* store.listForRepository(repositoryId, userId, limit)).map(view) }
      }).pipe(Effect.withSpan("Jobs.listForRepository"))

    const cancel = (id: JobId, userId: string) =>
      Effect.gen(function*() {
        const row = yield* find(id, userId)
        const cancelled = yield* store.cancel(id)
        if (cancelled === undefined) {
          return yield* new JobConflict({
            message: `job ${id} is ${row.status}; only queued or running jobs can be cancelled`
          })
        }
        return view(yield* find(id, userId))
      }).pipe(Effect.withSpan("Jobs.cancel"))

    const retry = (id: JobId, userId: string) =>
      Effect.gen(function*() {
        const row = yield* find(id, userId)
        const retried = yield* store.retry(id).pipe(
          Effect.catchTag("SqlError", (error) =>
            (error.cause as { code?: string } | undefined)?.code === "23505"
              ? Effect.fail(new JobConflict({ message: `an identical ${row.jobType} job is already queued` }))
              : Effect.die(error))
        )
        if (!retried) {
          return yield* new JobConflict({ message: `job ${id} is ${row.status}; only failed jobs can be retried` })
        }
        return view(yield* find(id, userId))
      }).pipe(Effect.withSpan("Jobs.retry"))

    const legacyStatus = (id: JobId, userId: string) =>
      Effect.map(find(id, userId), (row) => ({
        job: {
          id: row.jobId,
          repo_path: row.gitUrl,
          status: row.status,
          progress: null,
          started_at: row.startedAt,
          updated_at: row.finishedAt ?? row.startedAt ?? row.queuedAt,
          error: row.errorMessage
        }
      }))

    return { get, listForRepository, cancel, retry, legacyStatus } as const
  })
}) {}
