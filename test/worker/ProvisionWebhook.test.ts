import { HttpClient, HttpClientRequest } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { expect, it } from "@effect/vitest"
import { Effect, Layer, Schedule } from "effect"
import { JobHandlersLive } from "../../src/layers/Worker.js"
import { runWorker } from "../../src/worker/Worker.js"
import type { FakeGitHub } from "../utils/FakeGitHub.js"
import { fakeGitHub } from "../utils/FakeGitHub.js"
import { createKey, withKey } from "../utils/keys.js"
import { testApp } from "../utils/TestApp.js"

/** The real app (HTTP, services, the worker with the production handlers) talking to the fake GitHub. */
const appWith = (fake: FakeGitHub) =>
  Layer.scopedDiscard(runWorker).pipe(
    Layer.provide(JobHandlersLive),
    Layer.provideMerge(testApp({
      GITHUB_API_URL: fake.url,
      GITHUB_WEBHOOK_TOKEN: "t0ken",
      KOTADB_WEBHOOK_BASE_URL: "https://hooks.example.test",
      WORKER_POLL_INTERVAL: "100 millis",
      JOB_RETRY_BASE_DELAY: "100 millis",
      JOB_RETRY_MAX_DELAY: "300 millis"
    }))
  )

const register = (gitUrl: string) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const key = yield* createKey({ rate_limit: 1000 })
    const response = yield* client.execute(
      HttpClientRequest.post("/api/v1/repositories").pipe(
        HttpClientRequest.setHeaders(withKey(key.api_key)),
        HttpClientRequest.bodyUnsafeJson({ git_url: gitUrl })
      )
    )
    const body = (yield* response.json) as { repository_id: string; webhook: { url: string; secret: string } }
    return { ...body, httpStatus: response.status, key: key.api_key }
  })

const provisionJob = (repositoryId: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql<{ status: string; attempt: number; result: { hook_id?: number } | null }>`
      SELECT status, attempt, result FROM indexing_jobs
      WHERE repository_id = ${repositoryId} AND job_type = 'provision_webhook'
      ORDER BY created_at DESC LIMIT 1`.pipe(Effect.map((rows) => rows[0]!), Effect.orDie)
  )

const waitForJob = (repositoryId: string, done: (job: { status: string; attempt: number }) => boolean) =>
  provisionJob(repositoryId).pipe(
    Effect.filterOrFail(done),
    Effect.retry(Schedule.spaced("50 millis")),
    Effect.timeout("30 seconds")
  )

const waitCompleted = (repositoryId: string) =>
  waitForJob(repositoryId, (job) => job.status !== "queued" && job.status !== "in_progress")

const metadata = (repositoryId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ metadata: { github_webhook?: { hook_id: number; url: string } } }>`
      SELECT metadata FROM repositories WHERE id = ${repositoryId}`.pipe(Effect.map((rows) => rows[0]!.metadata)))

it.scopedLive(
  "provisioning creates the hook with the repository's secret and records it",
  () =>
    Effect.gen(function*() {
      const fake = yield* fakeGitHub()
      yield* Effect.gen(function*() {
        const repo = yield* register("https://github.com/acme/created")
        expect(repo.httpStatus).toBe(201)
        const job = yield* waitCompleted(repo.repository_id)
        expect(job.status).toBe("completed")
        const hooks = fake.hooks("acme", "created")
        expect(hooks).toHaveLength(1)
        expect(hooks[0]).toMatchObject({
          active: true,
          events: ["push", "pull_request"],
          config: { url: repo.webhook.url, secret: repo.webhook.secret, content_type: "json" }
        })
        expect((yield* metadata(repo.repository_id)).github_webhook).toMatchObject({
          hook_id: hooks[0]!.id,
          url: repo.webhook.url
        })
      }).pipe(Effect.provide(appWith(fake)))
    }),
  { timeout: 60_000 }
)

it.scopedLive(
  "a rotated secret reaches GitHub through 422 reconciliation, with our hook on page 2",
  () =>
    Effect.gen(function*() {
      const fake = yield* fakeGitHub({ perPage: 30 })
      yield* Effect.gen(function*() {
        fake.seedHooks("acme", "paged", 35)
        const repo = yield* register("https://github.com/acme/paged")
        expect((yield* waitCompleted(repo.repository_id)).status).toBe("completed")

        const client = yield* HttpClient.HttpClient
        const rotated = yield* client.execute(
          HttpClientRequest.post(`/api/v1/repositories/${repo.repository_id}/webhook-secret/rotate`).pipe(
            HttpClientRequest.setHeaders(withKey(repo.key))
          )
        )
        const secret = ((yield* rotated.json) as { webhook: { secret: string } }).webhook.secret
        fake.requests.length = 0
        const job = yield* waitForJob(repo.repository_id, (j) => j.status === "completed" && j.attempt === 1)
        expect(job.result?.hook_id).toBeDefined()
        const ours = fake.hooks("acme", "paged").filter((hook) => hook.config.url === repo.webhook.url)
        expect(ours).toHaveLength(1)
        expect(ours[0]!.config.secret).toBe(secret)
        expect(
          fake.requests.map((r) => `${r.method} ${r.path.split("?")[0]}${r.path.includes("page=2") ? " page 2" : ""}`)
        )
          .toEqual([
            "POST /repos/acme/paged/hooks",
            "GET /repos/acme/paged/hooks",
            "GET /repos/acme/paged/hooks page 2",
            `PATCH /repos/acme/paged/hooks/${ours[0]!.id}`
          ])
      }).pipe(Effect.provide(appWith(fake)))
    }),
  { timeout: 60_000 }
)

it.scopedLive(
  "registration while GitHub fails still answers 201; the job retries until GitHub answers",
  () =>
    Effect.gen(function*() {
      const fake = yield* fakeGitHub()
      yield* Effect.gen(function*() {
        fake.failNext(2, 502)
        const repo = yield* register("https://github.com/acme/flaky")
        expect(repo.httpStatus).toBe(201)
        const job = yield* waitCompleted(repo.repository_id)
        expect(job).toMatchObject({ status: "completed", attempt: 3 })
        expect(fake.hooks("acme", "flaky")).toHaveLength(1)
        const sql = yield* SqlClient.SqlClient
        const events = yield* sql<{ eventType: string }>`
        SELECT e.event_type FROM indexing_job_events e JOIN indexing_jobs j ON j.id = e.job_id
        WHERE j.repository_id = ${repo.repository_id} AND j.job_type = 'provision_webhook' ORDER BY e.id`
        expect(events.map((e) => e.eventType)).toEqual(["retry_scheduled", "retry_scheduled"])
      }).pipe(Effect.provide(appWith(fake)))
    }),
  { timeout: 60_000 }
)
