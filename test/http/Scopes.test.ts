import { HttpClient, HttpClientRequest } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { UsageRecorder } from "../../src/services/UsageRecorder.js"
import { createKey, get, withKey } from "../utils/keys.js"
import { testApp } from "../utils/TestApp.js"

const INTERNAL = "internal-key-for-tests-0123456789"

const send = (method: "POST" | "DELETE", path: string, headers: Record<string, string>, body?: unknown) =>
  Effect.flatMap(HttpClient.HttpClient, (client) =>
    client.execute(
      HttpClientRequest.make(method)(path).pipe(
        HttpClientRequest.setHeaders(headers),
        body === undefined ? (r) => r : HttpClientRequest.bodyUnsafeJson(body)
      )
    ))

layer(testApp({ INTERNAL_API_KEY: INTERNAL, GIT_ALLOW_PRIVATE_HOSTS: "true" }), {
  timeout: "60 seconds",
  excludeTestServices: true
})("key scopes", (it) => {
  it.effect("a key has read and write by default; scopes are set at creation and shown in listings and /me", () =>
    Effect.gen(function*() {
      const email = `${crypto.randomUUID()}@example.test`
      const both = yield* send("POST", "/internal/api-keys", { "x-internal-key": INTERNAL }, { user_email: email })
      expect(both.status).toBe(201)
      expect(yield* both.json).toMatchObject({ scopes: ["read", "write"] })
      const readOnly = yield* send("POST", "/internal/api-keys", { "x-internal-key": INTERNAL }, {
        user_email: email,
        scopes: ["read"]
      })
      expect(readOnly.status).toBe(201)
      const issued = (yield* readOnly.json) as { api_key: string; key_id: string; scopes: Array<string> }
      expect(issued.scopes).toEqual(["read"])

      const listing = yield* get(`/internal/api-keys?user_email=${encodeURIComponent(email)}`, {
        "x-internal-key": INTERNAL
      })
      const keys = (yield* listing.json) as Array<{ key_id: string; scopes: Array<string> }>
      expect(keys.map((k) => k.scopes)).toEqual([["read", "write"], ["read"]])

      const me = yield* get("/api/v1/me", withKey(issued.api_key))
      expect(yield* me.json).toMatchObject({ key_id: issued.key_id, scopes: ["read"] })
    }))

  it.effect("scopes other than read and write, none, or a repeat are a 400", () =>
    Effect.gen(function*() {
      for (const scopes of [["admin"], [], ["read", "read"], "read"]) {
        const response = yield* send("POST", "/internal/api-keys", { "x-internal-key": INTERNAL }, {
          user_email: `${crypto.randomUUID()}@example.test`,
          scopes
        })
        expect(response.status).toBe(400)
      }
    }))

  it.effect("a read-only key reads but gets 403 Forbidden on every write route, audited as forbidden", () =>
    Effect.gen(function*() {
      const user_email = `${crypto.randomUUID()}@example.test`
      const writer = yield* createKey({ rate_limit: 1000, user_email })
      const reader = yield* createKey({ rate_limit: 1000, user_email, scopes: ["read"] })
      const registered = yield* send("POST", "/api/v1/repositories", withKey(writer.api_key), {
        git_url: "http://127.0.0.1:9/acme/widgets.git"
      })
      expect(registered.status).toBe(201)
      const { job_id, repository_id } = (yield* registered.json) as { repository_id: string; job_id: string }

      for (
        const path of [
          "/api/v1/repositories",
          `/api/v1/repositories/${repository_id}`,
          `/api/v1/repositories/${repository_id}/jobs`,
          `/api/v1/jobs/${job_id}`,
          "/api/v1/search/code?q=widget",
          "/api/v1/usage"
        ]
      ) {
        expect((yield* get(path, withKey(reader.api_key))).status).toBe(200)
      }

      const writes: Array<readonly ["POST" | "DELETE", string, unknown?]> = [
        ["POST", "/api/v1/repositories", { git_url: "http://127.0.0.1:9/acme/other.git" }],
        ["POST", `/api/v1/repositories/${repository_id}/reindex`],
        ["POST", `/api/v1/repositories/${repository_id}/webhook-secret/rotate`],
        ["POST", `/api/v1/jobs/${job_id}/cancel`],
        ["POST", `/api/v1/jobs/${job_id}/retry`],
        ["DELETE", `/api/v1/repositories/${repository_id}`]
      ]
      for (const [method, path, body] of writes) {
        const response = yield* send(method, path, withKey(reader.api_key), body)
        expect(response.status, `${method} ${path}`).toBe(403)
        expect(yield* response.json).toEqual({ _tag: "Forbidden", message: "this API key lacks the \"write\" scope" })
      }

      // Nothing was written: one repository, its job still queued, the secret unchanged.
      const sql = yield* SqlClient.SqlClient
      const repositories = yield* sql<{ n: number }>`
        SELECT count(*)::int AS n FROM repositories WHERE user_id = ${writer.user_id}`
      expect(repositories[0]!.n).toBe(1)
      const jobs = yield* sql<
        { status: string }
      >`SELECT status FROM indexing_jobs WHERE repository_id = ${repository_id}`
      expect(jobs.map((j) => j.status)).toEqual(["queued"])

      yield* Effect.flatMap(UsageRecorder, (recorder) => recorder.flush)
      const audit = yield* sql<{ status: number; outcome: string }>`
        SELECT status, outcome FROM api_key_usage WHERE key_id = ${reader.key_id} AND status = 403`
      expect(audit).toHaveLength(writes.length)
      expect(new Set(audit.map((row) => row.outcome))).toEqual(new Set(["forbidden"]))

      // The same key with write does them.
      expect((yield* send("POST", `/api/v1/repositories/${repository_id}/reindex`, withKey(writer.api_key))).status)
        .toBe(202)
    }))
})
