import { HttpClient, HttpClientRequest } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { insertRepository } from "../utils/fixtures.js"
import { createKey, get, withKey } from "../utils/keys.js"
import { testApp } from "../utils/TestApp.js"

const post = (path: string, key: string) =>
  Effect.flatMap(
    HttpClient.HttpClient,
    (client) => client.execute(HttpClientRequest.post(path).pipe(HttpClientRequest.setHeaders(withKey(key))))
  )

/** Two tenants; the first owns a repository with one job in each interesting state. */
const tenants = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const alice = yield* createKey({ rate_limit: 1000 })
  const bob = yield* createKey({ rate_limit: 1000 })
  const repository = yield* insertRepository(alice.user_id, "jobs-repo")
  const job = (status: string) =>
    sql<{ id: string }>`
      INSERT INTO indexing_jobs (repository_id, job_type, status, attempt, finished_at, error_message)
      VALUES (${repository}, 'webhook_update', ${status}, ${status === "queued" ? 0 : 1},
              ${status === "failed" || status === "completed" ? sql`now()` : null},
              ${status === "failed" ? "boom" : null})
      RETURNING id`.pipe(Effect.map((rows) => rows[0]!.id))
  const queued = yield* job("queued")
  const failed = yield* job("failed")
  const completed = yield* job("completed")
  yield* sql`INSERT INTO indexing_job_events (job_id, event_type, message) VALUES (${failed}, 'failed', 'boom')`
  return { alice: alice.api_key, bob: bob.api_key, repository, queued, failed, completed }
})

layer(testApp(), { timeout: "60 seconds", excludeTestServices: true })("jobs API", (it) => {
  it.effect("a job with its events, to its owner only; another tenant's job is a 404", () =>
    Effect.gen(function*() {
      const t = yield* tenants
      const mine = yield* get(`/api/v1/jobs/${t.failed}`, withKey(t.alice))
      expect(mine.status).toBe(200)
      expect(yield* mine.json).toMatchObject({
        job_id: t.failed,
        repository_id: t.repository,
        status: "failed",
        error_message: "boom",
        events: [{ event_type: "failed", message: "boom" }]
      })
      const theirs = yield* get(`/api/v1/jobs/${t.failed}`, withKey(t.bob))
      expect(theirs.status).toBe(404)
      expect(yield* theirs.json).toMatchObject({ _tag: "JobNotFound" })
      expect((yield* get("/api/v1/jobs/not-a-uuid", withKey(t.alice))).status).toBe(400)
    }))

  it.effect("a repository's jobs, newest first; another tenant's repository is a 404", () =>
    Effect.gen(function*() {
      const t = yield* tenants
      const list = yield* get(`/api/v1/repositories/${t.repository}/jobs?limit=2`, withKey(t.alice))
      expect(list.status).toBe(200)
      const body = (yield* list.json) as { jobs: Array<{ job_id: string }> }
      expect(body.jobs.map((j) => j.job_id)).toEqual([t.completed, t.failed])
      const theirs = yield* get(`/api/v1/repositories/${t.repository}/jobs`, withKey(t.bob))
      expect(theirs.status).toBe(404)
      expect(yield* theirs.json).toMatchObject({ _tag: "RepositoryNotFound" })
      expect((yield* get(`/api/v1/repositories/${t.repository}/jobs?limit=0`, withKey(t.alice))).status).toBe(400)
    }))

  it.effect("cancel a queued job; cancelling it again, or another tenant's, is refused", () =>
    Effect.gen(function*() {
      const t = yield* tenants
      expect((yield* post(`/api/v1/jobs/${t.queued}/cancel`, t.bob)).status).toBe(404)
      const cancelled = yield* post(`/api/v1/jobs/${t.queued}/cancel`, t.alice)
      expect(cancelled.status).toBe(200)
      expect(yield* cancelled.json).toMatchObject({ status: "cancelled", finished_at: expect.any(String) })
      const again = yield* post(`/api/v1/jobs/${t.queued}/cancel`, t.alice)
      expect(again.status).toBe(409)
      expect(yield* again.json).toMatchObject({ _tag: "JobConflict" })
      // Logged by the cancelling statement itself, once.
      const job = (yield* (yield* get(`/api/v1/jobs/${t.queued}`, withKey(t.alice))).json) as { events: unknown }
      expect(job.events).toEqual([
        expect.objectContaining({ event_type: "cancelled", message: "cancelled while queued" })
      ])
    }))

  it.effect("retry a failed job with fresh attempts; a completed one cannot be retried", () =>
    Effect.gen(function*() {
      const t = yield* tenants
      expect((yield* post(`/api/v1/jobs/${t.failed}/retry`, t.bob)).status).toBe(404)
      const retried = yield* post(`/api/v1/jobs/${t.failed}/retry`, t.alice)
      expect(retried.status).toBe(200)
      expect(yield* retried.json).toMatchObject({
        status: "queued",
        attempt: 0,
        error_message: null,
        finished_at: null
      })
      expect((yield* post(`/api/v1/jobs/${t.completed}/retry`, t.alice)).status).toBe(409)
      const job = (yield* (yield* get(`/api/v1/jobs/${t.failed}`, withKey(t.alice))).json) as { events: unknown }
      expect(job.events).toEqual([
        expect.objectContaining({ event_type: "failed", message: "boom" }),
        expect.objectContaining({ event_type: "retried", message: "queued again through the API" })
      ])
    }))

  it.effect("the original GET /api/v1/index/status keeps its shape", () =>
    Effect.gen(function*() {
      const t = yield* tenants
      const status = yield* get(`/api/v1/index/status?job_id=${t.failed}`, withKey(t.alice))
      expect(status.status).toBe(200)
      expect(yield* status.json).toEqual({
        job: {
          id: t.failed,
          repo_path: expect.stringContaining("https://github.com/acme/jobs-repo"),
          status: "failed",
          progress: null,
          started_at: null,
          updated_at: expect.any(String),
          error: "boom"
        }
      })
      expect((yield* get(`/api/v1/index/status?job_id=${t.failed}`, withKey(t.bob))).status).toBe(404)
      expect((yield* get("/api/v1/index/status?job_id=nope", withKey(t.alice))).status).toBe(400)
    }))
})
