import { HttpClient, HttpClientRequest } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { SecretBox } from "../../src/services/SecretBox.js"
import { createKey, get, withKey } from "../utils/keys.js"
import { testApp } from "../utils/TestApp.js"

const send = (method: "POST" | "DELETE", path: string, key: string, body?: unknown) =>
  Effect.flatMap(HttpClient.HttpClient, (client) =>
    client.execute(
      (method === "POST" ? HttpClientRequest.post(path) : HttpClientRequest.del(path)).pipe(
        HttpClientRequest.setHeaders(withKey(key)),
        body === undefined ? (r) => r : HttpClientRequest.bodyUnsafeJson(body)
      )
    ))

const register = (key: string, body: unknown) => send("POST", "/api/v1/repositories", key, body)

interface Registered {
  repository_id: string
  job_id: string
  status: string
  webhook: { url: string; secret?: string }
}

const countRows = (table: "repositories" | "repository_secrets" | "indexing_jobs") =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql(table)}`.pipe(Effect.map((rows) => rows[0]!.n))
  )

layer(testApp({ KOTADB_WEBHOOK_BASE_URL: "https://hooks.example.test" }), {
  timeout: "60 seconds",
  excludeTestServices: true
})("repositories API", (it) => {
  it.effect("registration normalises the URL, seals the secret, queues full_index and provision_webhook", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const box = yield* SecretBox
      const key = yield* createKey({ rate_limit: 1000 })
      const response = yield* register(key.api_key, { git_url: "git@GitHub.com:Acme/Widgets.git", branch: "main" })
      expect(response.status).toBe(201)
      const body = (yield* response.json) as Registered
      expect(body.status).toBe("queued")
      expect(body.webhook.url).toBe(`https://hooks.example.test/webhooks/github/${body.repository_id}`)
      expect(body.webhook.secret).toMatch(/^[A-Za-z0-9_-]{43}$/)

      const [repo] = yield* sql<{ gitUrl: string; provider: string; name: string; defaultBranch: string }>`
        SELECT git_url, provider, name, default_branch FROM repositories WHERE id = ${body.repository_id}`
      expect(repo).toEqual({
        gitUrl: "https://github.com/acme/widgets.git".replace("acme/widgets", "Acme/Widgets"),
        provider: "github",
        name: "Widgets",
        defaultBranch: "main"
      })
      const [secret] = yield* sql<{ ciphertext: Buffer; nonce: Buffer; authTag: Buffer; keyId: string }>`
        SELECT ciphertext, nonce, auth_tag, key_id FROM repository_secrets WHERE repository_id = ${body.repository_id}`
      expect(secret!.ciphertext.toString("utf8")).not.toContain(body.webhook.secret!)
      expect(secret!.ciphertext.toString("base64url")).not.toContain(body.webhook.secret!)
      expect(Redacted.value(yield* box.open(secret!))).toBe(body.webhook.secret)
      const jobs = yield* sql<{ id: string; jobType: string }>`
        SELECT id, job_type FROM indexing_jobs WHERE repository_id = ${body.repository_id} ORDER BY job_type`
      expect(jobs.map((j) => j.jobType)).toEqual(["full_index", "provision_webhook"])
      expect(jobs.find((j) => j.jobType === "full_index")!.id).toBe(body.job_id)
    }))

  it.effect("re-registering answers 200 with the queued job and no secret; concurrent registrations make one of each", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const key = yield* createKey({ rate_limit: 1000 })
      const url = `https://github.com/acme/race-${crypto.randomUUID().slice(0, 8)}`
      const responses = yield* Effect.all(
        Array.from({ length: 10 }, () => register(key.api_key, { git_url: url })),
        { concurrency: "unbounded" }
      )
      const statuses = responses.map((r) => r.status).sort()
      expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201])
      const bodies = (yield* Effect.all(responses.map((r) => r.json))) as Array<Registered>
      expect(new Set(bodies.map((b) => b.repository_id)).size).toBe(1)
      expect(new Set(bodies.map((b) => b.job_id)).size).toBe(1)
      expect(bodies.filter((b) => b.webhook.secret !== undefined)).toHaveLength(1)
      const id = bodies[0]!.repository_id
      const [counts] = yield* sql<{ repos: number; secrets: number; fullIndex: number }>`
        SELECT (SELECT count(*)::int FROM repositories WHERE git_url = ${url + ".git"}) AS repos,
               (SELECT count(*)::int FROM repository_secrets WHERE repository_id = ${id}) AS secrets,
               (SELECT count(*)::int FROM indexing_jobs WHERE repository_id = ${id} AND job_type = 'full_index') AS full_index`
      expect(counts).toEqual({ repos: 1, secrets: 1, fullIndex: 1 })
    }))

  it.effect("SSRF and malformed URLs are a 400 InvalidGitUrl and write nothing", () =>
    Effect.gen(function*() {
      const key = yield* createKey({ rate_limit: 1000 })
      const before = yield* Effect.all([countRows("repositories"), countRows("indexing_jobs")])
      const refused = [
        "file:///etc/passwd",
        "/var/repos/app.git",
        "../app",
        "git://github.com/acme/app.git",
        "http://github.com/acme/app.git",
        "https://user:token@github.com/acme/app.git",
        "https://127.0.0.1/acme/app.git",
        "https://[::1]/acme/app.git",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.5/acme/app.git",
        "https://192.168.1.10/acme/app.git",
        "https://2130706433/acme/app.git",
        "https://localhost/acme/app.git",
        "https://example.org/acme/app.git",
        "ftp://github.com/acme/app.git",
        "https://github.com/acme",
        ""
      ]
      for (const git_url of refused) {
        const response = yield* register(key.api_key, { git_url })
        expect({ git_url, status: response.status }).toEqual({ git_url, status: 400 })
        const body = (yield* response.json) as { _tag: string; message: string }
        expect(["InvalidGitUrl", "HttpApiDecodeError"]).toContain(body._tag)
        expect(typeof body.message).toBe("string")
      }
      expect(yield* Effect.all([countRows("repositories"), countRows("indexing_jobs")])).toEqual(before)
    }))

  it.effect("list pages with a cursor; get, reindex, rotate and delete are scoped to the owner", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const alice = yield* createKey({ rate_limit: 1000 })
      const bob = yield* createKey({ rate_limit: 1000 })
      const ids: Array<string> = []
      for (let i = 0; i < 5; i++) {
        const response = yield* register(alice.api_key, { git_url: `https://gitlab.com/acme/group/app-${i}` })
        ids.push(((yield* response.json) as Registered).repository_id)
      }
      const seen: Array<string> = []
      let cursor: string | null = null
      do {
        const page = yield* get(
          `/api/v1/repositories?limit=2${cursor === null ? "" : `&cursor=${cursor}`}`,
          withKey(alice.api_key)
        )
        expect(page.status).toBe(200)
        const body = (yield* page.json) as {
          repositories: Array<{ repository_id: string }>
          next_cursor: string | null
        }
        expect(body.repositories.length).toBeLessThanOrEqual(2)
        seen.push(...body.repositories.map((r) => r.repository_id))
        cursor = body.next_cursor
      } while (cursor !== null)
      expect(seen).toEqual([...ids].reverse())
      expect((yield* get("/api/v1/repositories?cursor=bm9wZQ", withKey(alice.api_key))).status).toBe(400)
      expect(
        ((yield* (yield* get("/api/v1/repositories", withKey(bob.api_key))).json) as { repositories: [] })
          .repositories
      ).toEqual([])

      const id = ids[0]!
      const mine = yield* get(`/api/v1/repositories/${id}`, withKey(alice.api_key))
      expect(mine.status).toBe(200)
      expect(yield* mine.json).toMatchObject({
        repository_id: id,
        provider: "gitlab",
        git_url: "https://gitlab.com/acme/group/app-0.git",
        status: "queued",
        job_summary: { queued: 1 }
      })
      for (
        const [method, path] of [
          ["GET", `/api/v1/repositories/${id}`],
          ["POST", `/api/v1/repositories/${id}/reindex`],
          ["POST", `/api/v1/repositories/${id}/webhook-secret/rotate`],
          ["DELETE", `/api/v1/repositories/${id}`]
        ] as const
      ) {
        const response = method === "GET"
          ? yield* get(path, withKey(bob.api_key))
          : yield* send(method, path, bob.api_key)
        expect({ path, method, status: response.status }).toEqual({ path, method, status: 404 })
      }

      // Reindex returns the full_index already queued instead of queueing another.
      const reindex = yield* send("POST", `/api/v1/repositories/${id}/reindex`, alice.api_key)
      expect(reindex.status).toBe(202)
      const [queued] = yield* sql<{ id: string }>`
        SELECT id FROM indexing_jobs WHERE repository_id = ${id} AND job_type = 'full_index'`
      expect(yield* reindex.json).toMatchObject({ repository_id: id, job_id: queued!.id })

      const [before] = yield* sql<
        { secretHash: string }
      >`SELECT secret_hash FROM repository_secrets WHERE repository_id = ${id}`
      const rotated = yield* send("POST", `/api/v1/repositories/${id}/webhook-secret/rotate`, alice.api_key)
      expect(rotated.status).toBe(200)
      expect(((yield* rotated.json) as Registered).webhook.secret).toMatch(/^[A-Za-z0-9_-]{43}$/)
      const [after] = yield* sql<
        { secretHash: string }
      >`SELECT secret_hash FROM repository_secrets WHERE repository_id = ${id}`
      expect(after!.secretHash).not.toBe(before!.secretHash)

      const deleted = yield* send("DELETE", `/api/v1/repositories/${id}`, alice.api_key)
      expect(deleted.status).toBe(204)
      expect((yield* get(`/api/v1/repositories/${id}`, withKey(alice.api_key))).status).toBe(404)
      const [left] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM indexing_jobs WHERE repository_id = ${id}`
      expect(left!.n).toBe(0)
    }))
})
