import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlLive } from "../../src/layers/Sql.js"
import { insertRepository, insertUser } from "../utils/fixtures.js"
import { testConfig } from "../utils/TestApp.js"
import { TestDatabaseLive } from "../utils/TestDatabase.js"

type JobState = "queued" | "in_progress" | "completed" | "failed" | "cancelled"

interface Job {
  readonly type?: string
  readonly status: JobState
  /** Seconds ago that it finished (finished jobs only). */
  readonly finishedAgo?: number
}

/** A repository with exactly these jobs; returns its derived status and sync_state. */
const statusWith = (jobs: ReadonlyArray<Job>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const repository = yield* insertRepository(yield* insertUser())
    for (const job of jobs) {
      const running = job.status === "in_progress"
      const finished = job.status === "completed" || job.status === "failed" || job.status === "cancelled"
      yield* sql`
        INSERT INTO indexing_jobs (repository_id, job_type, status, attempt, locked_by, locked_at, finished_at)
        VALUES (${repository}, ${job.type ?? "full_index"}, ${job.status}, ${running || finished ? 1 : 0},
                ${running ? "w" : null}, ${running ? new Date() : null},
                ${finished ? new Date(Date.now() - 1000 * (job.finishedAgo ?? 0)) : null})`
    }
    const [row] = yield* sql<{ status: string; syncState: string }>`
      SELECT status, sync_state FROM repository_status_view WHERE id = ${repository}`
    return `${row!.status}/${row!.syncState}`
  }).pipe(Effect.orDie)

layer(SqlLive.pipe(Layer.provide(TestDatabaseLive), Layer.provideMerge(testConfig())), {
  timeout: "60 seconds",
  excludeTestServices: true
})("repository status, derived from its jobs", (it) => {
  it.effect("follows SPEC section 2 in every case", () =>
    Effect.gen(function*() {
      expect(yield* statusWith([])).toBe("queued/pending")
      expect(yield* statusWith([{ status: "queued" }])).toBe("queued/pending")
      expect(yield* statusWith([{ status: "queued" }, { status: "in_progress" }])).toBe("syncing/in_progress")
      expect(yield* statusWith([{ status: "completed" }])).toBe("ready/synced")
      expect(yield* statusWith([{ status: "failed" }])).toBe("error/error")
      // A queued job wins over any finished one; a running one over both.
      expect(yield* statusWith([{ status: "failed" }, { status: "queued" }])).toBe("queued/pending")
      expect(yield* statusWith([{ status: "completed" }, { status: "in_progress" }])).toBe("syncing/in_progress")
      // The most recently finished job decides, whatever order the rows were written in.
      expect(yield* statusWith([{ status: "completed", finishedAgo: 5 }, { status: "failed", finishedAgo: 60 }]))
        .toBe("ready/synced")
      expect(yield* statusWith([{ status: "failed", finishedAgo: 5 }, { status: "completed", finishedAgo: 60 }]))
        .toBe("error/error")
      // Cancelled jobs and webhook provisioning do not count.
      expect(yield* statusWith([{ status: "completed", finishedAgo: 60 }, { status: "cancelled", finishedAgo: 1 }]))
        .toBe("ready/synced")
      expect(
        yield* statusWith([
          { status: "completed", finishedAgo: 60 },
          { type: "provision_webhook", status: "failed", finishedAgo: 1 },
          { type: "provision_webhook", status: "in_progress" },
          { type: "provision_webhook", status: "queued" }
        ])
      ).toBe("ready/synced")
    }))

  it.effect("a job's status change is reflected at once, with no write to the repository row", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const repository = yield* insertRepository(yield* insertUser())
      const [job] = yield* sql<{ id: string }>`
        INSERT INTO indexing_jobs (repository_id, job_type) VALUES (${repository}, 'validate') RETURNING id`
      const version = () =>
        sql<{ xmin: string }>`SELECT xmin::text AS xmin FROM repositories WHERE id = ${repository}`.pipe(
          Effect.map((rows) => rows[0]!.xmin)
        )
      const status = () =>
        sql<{ status: string }>`SELECT status FROM repository_status_view WHERE id = ${repository}`.pipe(
          Effect.map((rows) => rows[0]!.status)
        )
      const before = yield* version()
      yield* sql`
        UPDATE indexing_jobs SET status = 'in_progress', attempt = 1, locked_by = 'w', locked_at = now()
        WHERE id = ${job!.id}`
      expect(yield* status()).toBe("syncing")
      yield* sql`
        UPDATE indexing_jobs SET status = 'completed', locked_by = NULL, locked_at = NULL, finished_at = now()
        WHERE id = ${job!.id}`
      expect(yield* status()).toBe("ready")
      expect(yield* version()).toBe(before)
    }).pipe(Effect.orDie))

  it.effect("counts each job type's jobs by status beside the totals, and stays security_invoker", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const repository = yield* insertRepository(yield* insertUser())
      const empty = yield* insertRepository(yield* insertUser())
      const jobs: ReadonlyArray<readonly [string, JobState]> = [
        ["full_index", "completed"],
        ["full_index", "failed"],
        ["full_index", "queued"],
        ["webhook_update", "completed"],
        ["webhook_update", "completed"],
        ["webhook_update", "in_progress"],
        ["provision_webhook", "cancelled"]
      ]
      for (const [type, status] of jobs) {
        const running = status === "in_progress"
        yield* sql`
          INSERT INTO indexing_jobs (repository_id, job_type, status, attempt, locked_by, locked_at, finished_at)
          VALUES (${repository}, ${type}, ${status}, ${status === "queued" ? 0 : 1}, ${running ? "w" : null},
                  ${running ? new Date() : null}, ${running || status === "queued" ? null : new Date()})`
      }
      const rows = yield* sql<{ id: string; jobSummary: unknown; jobSummaryByType: unknown }>`
        SELECT id, job_summary, job_summary_by_type FROM repository_status_view WHERE id IN (${repository}, ${empty})`
      const of = (id: string) => rows.find((row) => row.id === id)!
      const counts = (queued: number, in_progress: number, completed: number, failed: number, cancelled: number) => ({
        queued,
        in_progress,
        completed,
        failed,
        cancelled
      })
      expect(of(repository).jobSummaryByType).toEqual({
        full_index: counts(1, 0, 1, 1, 0),
        webhook_update: counts(0, 1, 2, 0, 0),
        provision_webhook: counts(0, 0, 0, 0, 1)
      })
      expect(of(repository).jobSummary).toEqual(counts(1, 1, 3, 1, 1))
      expect(of(empty).jobSummaryByType).toEqual({})
      expect(of(empty).jobSummary).toEqual(counts(0, 0, 0, 0, 0))
      const [view] = yield* sql<{ options: ReadonlyArray<string> }>`
        SELECT reloptions AS options FROM pg_class WHERE oid = 'public.repository_status_view'::regclass`
      expect(view!.options).toContain("security_invoker=true")
    }).pipe(Effect.orDie))
})
