import { HttpClient, HttpClientRequest } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { expect } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { createHmac } from "node:crypto"
import { withKey } from "./keys.js"

// The steps of a repository's life through the real API, shared by the indexing and navigation tests:
// register, push (a signed webhook) and wait for a job to finish.

/** `POST path` with a JSON body on the test server. */
export const post = (path: string, headers: Record<string, string>, body: unknown) =>
  Effect.flatMap(HttpClient.HttpClient, (client) =>
    client.execute(
      HttpClientRequest.post(path).pipe(HttpClientRequest.setHeaders(headers), HttpClientRequest.bodyUnsafeJson(body))
    ))

export interface Registered {
  readonly repository_id: string
  readonly job_id: string
  readonly webhook: { readonly secret: string }
}

/** Registers `gitUrl` (branch main) for the key's user: a 201 with the first job. */
export const register = (key: string, gitUrl: string, settings?: Record<string, unknown>) =>
  Effect.gen(function*() {
    const response = yield* post("/api/v1/repositories", withKey(key), { git_url: gitUrl, branch: "main", settings })
    expect(response.status).toBe(201)
    return (yield* response.json) as Registered
  })

/** A signed push of `before..after` to main (`extra` for more of the payload, e.g. `forced`): a 202 with its job's id. */
export const push = (repo: Registered, before: string, after: string, extra?: Record<string, unknown>) =>
  Effect.gen(function*() {
    const body = JSON.stringify({
      ref: "refs/heads/main",
      before,
      after,
      repository: { default_branch: "main" },
      commits: [],
      ...extra
    })
    const response = yield* post(`/webhooks/github/${repo.repository_id}`, {
      "x-github-event": "push",
      "x-github-delivery": crypto.randomUUID(),
      "x-hub-signature-256": `sha256=${createHmac("sha256", repo.webhook.secret).update(body).digest("hex")}`,
      "content-type": "application/json"
    }, JSON.parse(body))
    expect(response.status).toBe(202)
    return ((yield* response.json) as { job_id: string }).job_id
  })

export interface JobState {
  readonly status: string
  readonly result: Record<string, unknown> | null
  readonly errorCode: string | null
  readonly errorMessage: string | null
  readonly attempt: number
}

/** A job's row as it stands. */
export const job = (id: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<JobState>`
      SELECT status, result, error_code, error_message, attempt FROM indexing_jobs WHERE id = ${id}`.pipe(
      Effect.map((rows) => rows[0]!),
      Effect.orDie
    ))

/** A job once it has finished (completed, failed or cancelled), with its result. */
export const finished = (id: string) =>
  job(id).pipe(
    Effect.filterOrFail((j) => ["completed", "failed", "cancelled"].includes(j.status)),
    Effect.retry(Schedule.spaced("50 millis")),
    Effect.timeout("60 seconds")
  )
