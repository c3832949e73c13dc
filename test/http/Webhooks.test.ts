import { HttpClient, HttpClientRequest, HttpServer } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Redacted, Schedule } from "effect"
import { createHmac } from "node:crypto"
import { readFileSync } from "node:fs"
import { request as httpRequest } from "node:http"
import { connect } from "node:net"
import { verifySignature } from "../../src/services/Webhooks.js"
import { createKey, withKey } from "../utils/keys.js"
import { testApp } from "../utils/TestApp.js"

const sign = (secret: string, body: Uint8Array | string) =>
  `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`

const sha = (n: number) => n.toString(16).padStart(40, "0")

/** Every event name GitHub documents, one a line (test/fixtures/github-webhook-events.txt). */
const gitHubEvents = readFileSync(new URL("../fixtures/github-webhook-events.txt", import.meta.url), "utf8")
  .split("\n")
  .map((line) => line.trim())
  .filter((line) => line !== "" && !line.startsWith("#"))

const pushPayload = (ref = "refs/heads/main", extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    ref,
    before: sha(1),
    after: sha(2),
    forced: false,
    deleted: false,
    repository: { default_branch: "main" },
    commits: [{ id: sha(2), added: ["src/new.ts"], modified: ["README.md"], removed: ["old.txt"] }],
    ...extra
  })

const deliver = (
  repositoryId: string,
  options: {
    event: string
    body: string | Uint8Array
    signature?: string | null
    delivery?: string
    secret: string
    headers?: Record<string, string>
  }
) =>
  Effect.flatMap(HttpClient.HttpClient, (client) => {
    const bytes = typeof options.body === "string" ? new TextEncoder().encode(options.body) : options.body
    const headers: Record<string, string> = {
      "x-github-event": options.event,
      "x-github-delivery": options.delivery ?? crypto.randomUUID(),
      "user-agent": "GitHub-Hookshot/test",
      ...options.headers
    }
    const signature = options.signature === undefined ? sign(options.secret, bytes) : options.signature
    if (signature !== null) headers["x-hub-signature-256"] = signature
    // The client's own span would otherwise replace a traceparent the test sends.
    const sender = options.headers?.traceparent === undefined ? client : HttpClient.withTracerPropagation(client, false)
    return sender.execute(
      HttpClientRequest.post(`/webhooks/github/${repositoryId}`).pipe(
        HttpClientRequest.setHeaders(headers),
        HttpClientRequest.bodyUint8Array(bytes, "application/json")
      )
    )
  })

/** A registered GitHub repository with its webhook secret. */
const repository = Effect.gen(function*() {
  const client = yield* HttpClient.HttpClient
  const key = yield* createKey({ rate_limit: 1000 })
  const gitUrl = `https://github.com/acme/hooks-${crypto.randomUUID().slice(0, 8)}`
  const register = (extra: Record<string, unknown> = {}) =>
    client.execute(
      HttpClientRequest.post("/api/v1/repositories").pipe(
        HttpClientRequest.setHeaders(withKey(key.api_key)),
        HttpClientRequest.bodyUnsafeJson({ git_url: gitUrl, ...extra })
      )
    )
  const body = (yield* (yield* register()).json) as { repository_id: string; webhook: { secret: string } }
  return { id: body.repository_id, secret: body.webhook.secret, register }
})

const deliveryRows = (repositoryId: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql<{ deliveryId: string; status: string; jobId: string | null; headers: Record<string, string> }>`
      SELECT delivery_id, status, job_id, headers FROM webhook_deliveries WHERE repository_id = ${repositoryId}`
  )

const storedPayload = (deliveryId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ payload: unknown; payloadRaw: Uint8Array; status: string }>`
      SELECT payload, payload_raw, status FROM webhook_deliveries WHERE delivery_id = ${deliveryId}`.pipe(
      Effect.map((rows) => rows[0]!)
    ))

const updateJobs = (repositoryId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ id: string; payload: Record<string, unknown> }>`
      SELECT id, payload FROM indexing_jobs WHERE repository_id = ${repositoryId} AND job_type = 'webhook_update'`)

describe("webhook signatures", () => {
  it("GitHub's documented test vector verifies", () => {
    const secret = Redacted.make("It's a Secret to Everybody")
    const body = new TextEncoder().encode("Hello, World!")
    const expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    expect(verifySignature(secret, body, expected)).toBe(true)
    expect(verifySignature(secret, body, expected.replace("7e", "7f"))).toBe(false)
    expect(verifySignature(secret, new TextEncoder().encode("Hello, World"), expected)).toBe(false)
    expect(verifySignature(secret, body, expected.slice(0, -2))).toBe(false)
    expect(verifySignature(secret, body, undefined)).toBe(false)
  })
})

layer(testApp(), { timeout: "90 seconds", excludeTestServices: true })("GitHub webhooks", (it) => {
  it.effect("a signed push to the default branch queues one webhook_update; headers are stored redacted", () =>
    Effect.gen(function*() {
      const repo = yield* repository
      const response = yield* deliver(repo.id, { event: "push", body: pushPayload(), secret: repo.secret })
      expect(response.status).toBe(202)
      const body = (yield* response.json) as { status: string; job_id: string }
      expect(body.status).toBe("queued")
      const jobs = yield* updateJobs(repo.id)
      expect(jobs).toHaveLength(1)
      expect(jobs[0]!.id).toBe(body.job_id)
      expect(jobs[0]!.payload).toMatchObject({
        ref: "refs/heads/main",
        branch: "main",
        before: sha(1),
        after: sha(2),
        changed: { added: ["src/new.ts"], modified: ["README.md"], removed: ["old.txt"] }
      })
      const [row] = yield* deliveryRows(repo.id)
      expect(row).toMatchObject({ status: "queued", jobId: body.job_id })
      expect(row!.headers["x-hub-signature-256"]).toBe("[redacted]")
      expect(row!.headers["x-github-event"]).toBe("push")
      expect(JSON.stringify(row!.headers)).not.toContain(sign(repo.secret, pushPayload()).slice(7))
    }))

  it.effect("the job of a delivery that carries a traceparent is in the caller's trace, under a span of ours", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const repo = yield* repository
      const traceId = "0af7651916cd43dd8448eb211c80319c"
      const callerSpan = "b7ad6b7169203331"
      const response = yield* deliver(repo.id, {
        event: "push",
        body: pushPayload(),
        secret: repo.secret,
        headers: { traceparent: `00-${traceId}-${callerSpan}-01` }
      })
      expect(response.status).toBe(202)
      const { job_id } = (yield* response.json) as { job_id: string }
      const [job] = yield* sql<
        { traceparent: string | null }
      >`SELECT traceparent FROM indexing_jobs WHERE id = ${job_id}`
      const [, trace, span] = job!.traceparent!.split("-")
      expect(trace).toBe(traceId)
      expect(span).toMatch(/^[0-9a-f]{16}$/)
      expect(span).not.toBe(callerSpan)
    }))

  it.effect("every refusal is in the one error shape, with the security headers", () =>
    Effect.gen(function*() {
      const repo = yield* repository
      const refusals = [
        [yield* deliver(repo.id, { event: "push", body: pushPayload(), secret: "wrong" }), 401, "InvalidSignature"],
        [yield* deliver(repo.id, { event: "Push!", body: pushPayload(), secret: repo.secret }), 400, "InvalidDelivery"],
        [yield* deliver(repo.id, { event: "push", body: "{", secret: repo.secret }), 400, "InvalidDelivery"],
        [
          yield* deliver(crypto.randomUUID(), { event: "push", body: pushPayload(), secret: repo.secret }),
          404,
          "RepositoryNotFound"
        ]
      ] as const
      for (const [response, status, tag] of refusals) {
        expect(response.status).toBe(status)
        expect(response.headers["content-type"]).toBe("application/json")
        expect(response.headers["x-content-type-options"]).toBe("nosniff")
        expect(response.headers["cache-control"]).toBe("no-store")
        const body = (yield* response.json) as Record<string, unknown>
        expect(Object.keys(body).sort()).toEqual(["_tag", "message"])
        expect(body._tag).toBe(tag)
      }
    }))

  it.effect("a bad or missing signature is a 401 and writes nothing", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const repo = yield* repository
      const count = sql<{ n: number }>`
        SELECT (SELECT count(*) FROM webhook_deliveries)::int + (SELECT count(*) FROM indexing_jobs)::int AS n`
      const [before] = yield* count
      for (
        const signature of [
          null,
          "",
          "sha1=abc",
          sign("not the secret", pushPayload()),
          sign(repo.secret, pushPayload() + " "),
          "sha256=zz"
        ]
      ) {
        const response = yield* deliver(repo.id, { event: "push", body: pushPayload(), signature, secret: repo.secret })
        expect({ signature, status: response.status }).toEqual({ signature, status: 401 })
        expect(yield* response.json).toMatchObject({ _tag: "InvalidSignature" })
      }
      const [after] = yield* count
      expect(after!.n).toBe(before!.n)
    }))

  it.effect("20 concurrent copies of one delivery make exactly one job", () =>
    Effect.gen(function*() {
      const repo = yield* repository
      const delivery = crypto.randomUUID()
      const responses = yield* Effect.all(
        Array.from({ length: 20 }, () =>
          deliver(repo.id, { event: "push", body: pushPayload(), delivery, secret: repo.secret })),
        { concurrency: "unbounded" }
      )
      expect(
        responses.map((r) =>
          r.status
        ).sort()
      ).toEqual([...Array(19).fill(200), 202])
      const bodies = (yield* Effect.all(responses.map((r) => r.json))) as Array<{ status: string; job_id: string }>
      expect(bodies.filter((b) => b.status === "duplicate")).toHaveLength(19)
      expect(new Set(bodies.map((b) => b.job_id)).size).toBe(1)
      expect(yield* updateJobs(repo.id)).toHaveLength(1)
    }))

  it.effect("a failed delivery redelivered runs again; an accepted one is a no-op; its status follows the job", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const repo = yield* repository
      const delivery = crypto.randomUUID()
      const first =
        (yield* (yield* deliver(repo.id, { event: "push", body: pushPayload(), delivery, secret: repo.secret }))
          .json) as { job_id: string }

      const status = Effect.map(deliveryRows(repo.id), (rows) => rows[0]!.status)
      yield* sql`UPDATE indexing_jobs SET status = 'in_progress', locked_by = 'w', locked_at = now(), attempt = 1
                 WHERE id = ${first.job_id}`
      expect(yield* status).toBe("processing")
      yield* sql`UPDATE indexing_jobs SET status = 'failed', locked_by = NULL, locked_at = NULL, finished_at = now(),
                 error_message = 'git fetch failed' WHERE id = ${first.job_id}`
      expect(yield* status).toBe("failed")

      const again = yield* deliver(repo.id, { event: "push", body: pushPayload(), delivery, secret: repo.secret })
      expect(again.status).toBe(202)
      const second = (yield* again.json) as { status: string; job_id: string }
      expect(second.status).toBe("queued")
      expect(second.job_id).not.toBe(first.job_id)
      yield* sql`UPDATE indexing_jobs SET status = 'in_progress', locked_by = 'w', locked_at = now(), attempt = 1
                 WHERE id = ${second.job_id}`
      yield* sql`UPDATE indexing_jobs SET status = 'completed', locked_by = NULL, locked_at = NULL, finished_at = now()
                 WHERE id = ${second.job_id}`
      expect(yield* status).toBe("processed")

      const third = yield* deliver(repo.id, { event: "push", body: pushPayload(), delivery, secret: repo.secret })
      expect(third.status).toBe(200)
      expect(yield* third.json).toEqual({ status: "duplicate", job_id: second.job_id })
      expect(yield* updateJobs(repo.id)).toHaveLength(2)
    }))

  it.effect("10 concurrent redeliveries of a failed delivery make exactly one new job", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const repo = yield* repository
      const delivery = crypto.randomUUID()
      const push = () => deliver(repo.id, { event: "push", body: pushPayload(), delivery, secret: repo.secret })
      const first = (yield* (yield* push()).json) as { job_id: string }
      yield* sql`UPDATE indexing_jobs SET status = 'failed', finished_at = now(), error_message = 'git fetch failed'
                 WHERE id = ${first.job_id}`

      const responses = yield* Effect.all(Array.from({ length: 10 }, push), { concurrency: "unbounded" })
      expect(responses.map((r) => r.status).sort()).toEqual([...Array(9).fill(200), 202])
      const bodies = (yield* Effect.all(responses.map((r) => r.json))) as Array<{ status: string; job_id: string }>
      const rerun = bodies.find((b) => b.status === "queued")!
      expect(rerun.job_id).not.toBe(first.job_id)
      // The copies that lost the race answer as duplicates of the rerun, with its job.
      expect(bodies.filter((b) => b.status === "duplicate" && b.job_id === rerun.job_id)).toHaveLength(9)
      expect(yield* updateJobs(repo.id)).toHaveLength(2)
      const [row] = yield* sql<{ attempts: number; jobId: string }>`
        SELECT attempts, job_id FROM webhook_deliveries WHERE delivery_id = ${delivery}`
      expect(row).toEqual({ attempts: 2, jobId: rerun.job_id })
    }))

  it.effect("a delivery id another repository's delivery holds never answers with that delivery's job", () =>
    Effect.gen(function*() {
      const first = yield* repository
      const second = yield* repository
      const delivery = crypto.randomUUID()
      const accepted = yield* deliver(first.id, { event: "push", body: pushPayload(), delivery, secret: first.secret })
      expect(accepted.status).toBe(202)
      const reused = yield* deliver(second.id, { event: "push", body: pushPayload(), delivery, secret: second.secret })
      expect(reused.status).toBe(200)
      expect(yield* reused.json).toEqual({ status: "duplicate" })
      expect(yield* updateJobs(second.id)).toHaveLength(0)
    }))

  it.effect("re-registering with new settings routes pushes by them at once (the cached target is evicted)", () =>
    Effect.gen(function*() {
      const repo = yield* repository
      const feature = () =>
        deliver(repo.id, { event: "push", body: pushPayload("refs/heads/feature"), secret: repo.secret })
      expect(yield* (yield* feature()).json).toEqual({ status: "ignored:push" })
      expect((yield* repo.register({ settings: { branches: ["feature"] } })).status).toBe(200)
      // The eviction travels by NOTIFY: allow it a moment, far less than the cache's 30 s.
      const queued = yield* feature().pipe(
        Effect.flatMap((r) => r.json),
        Effect.filterOrFail((body) => (body as { status: string }).status === "queued"),
        Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("3 seconds")))
      )
      expect(queued).toMatchObject({ status: "queued" })
    }))

  it.effect("ping, other branches, tags, deletions and other events are acknowledged, never a 4xx", () =>
    Effect.gen(function*() {
      const repo = yield* repository
      const cases: Array<[string, string, unknown]> = [
        ["ping", JSON.stringify({ zen: "Keep it logically awesome.", hook_id: 1 }), { status: "pong" }],
        ["push", pushPayload("refs/heads/feature"), { status: "ignored:push" }],
        ["push", pushPayload("refs/tags/v1.0.0"), { status: "ignored:push" }],
        ["push", pushPayload("refs/heads/main", { deleted: true, after: sha(0) }), { status: "ignored:push" }],
        ["pull_request", JSON.stringify({ action: "opened", number: 1 }), { status: "ignored:pull_request" }],
        ["issues", JSON.stringify({ action: "opened" }), { status: "ignored:issues" }],
        ["workflow_run", JSON.stringify({ action: "completed" }), { status: "ignored:workflow_run" }],
        ["star", JSON.stringify({ action: "created" }), { status: "ignored:star" }],
        ["push", pushPayload("refs/heads/other", { head_commit: { message: "nul \u0000 byte" } }), {
          status: "ignored:push"
        }]
      ]
      for (const [event, body, expected] of cases) {
        const response = yield* deliver(repo.id, { event, body, secret: repo.secret })
        expect({ event, status: response.status }).toEqual({ event, status: 200 })
        expect(yield* response.json).toEqual(expected)
      }
      expect(yield* updateJobs(repo.id)).toHaveLength(0)
      const statuses = (yield* deliveryRows(repo.id)).map((row) => row.status).sort()
      expect(statuses).toEqual([...Array(8).fill("ignored"), "processed"])
    }))

  it.effect("every event GitHub documents is acknowledged and recorded ignored, digits included", () =>
    Effect.gen(function*() {
      const repo = yield* repository
      expect(gitHubEvents).toContain("projects_v2_item")
      expect(gitHubEvents.length).toBeGreaterThan(70)
      for (const event of gitHubEvents) {
        const response = yield* deliver(repo.id, { event, body: "{}", secret: repo.secret })
        expect({ event, status: response.status }).toEqual({ event, status: 200 })
        expect(yield* response.json).toEqual(event === "ping" ? { status: "pong" } : { status: `ignored:${event}` })
      }
      const rows = yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql<{ eventType: string; status: string }>`
          SELECT event_type, status FROM webhook_deliveries WHERE repository_id = ${repo.id}`)
      expect(rows).toHaveLength(gitHubEvents.length)
      for (const row of rows) expect(row.status).toBe(row.eventType === "ping" ? "processed" : "ignored")
      expect(yield* updateJobs(repo.id)).toHaveLength(0)
    }))

  it.effect("an X-GitHub-Event that is no plausible event name is a 400 and writes nothing", () =>
    Effect.gen(function*() {
      const repo = yield* repository
      for (
        const event of ["", "Push", "PUSH", "push-event", "push.event", "1push", "_push", "push\u00e9", "a".repeat(101)]
      ) {
        const response = yield* deliver(repo.id, { event, body: "{}", secret: repo.secret })
        expect({ event, status: response.status }).toEqual({ event, status: 400 })
        expect(yield* response.json).toEqual({ _tag: "InvalidDelivery", message: "missing or invalid X-GitHub-Event" })
      }
      // A control byte in the header: refused by the HTTP parser before any handler runs.
      const address = (yield* HttpServer.HttpServer).address as HttpServer.TcpAddress
      const body = "{}"
      const reply = yield* Effect.async<string, Error>((resume) => {
        const socket = connect(address.port, "127.0.0.1", () => {
          socket.end(
            `POST /webhooks/github/${repo.id} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
              `X-GitHub-Event: pu\x01sh\r\nX-GitHub-Delivery: ${crypto.randomUUID()}\r\n` +
              `X-Hub-Signature-256: ${sign(repo.secret, body)}\r\nContent-Length: ${body.length}\r\n\r\n${body}`
          )
        })
        let text = ""
        socket.on("data", (chunk: Buffer) => (text += chunk.toString("latin1")))
        socket.on("close", () => resume(Effect.succeed(text)))
        socket.on("error", (error) => resume(Effect.fail(error)))
      })
      expect(reply).toMatch(/^HTTP\/1\.1 400 /)
      expect(yield* deliveryRows(repo.id)).toHaveLength(0)
    }))

  it.effect("a push whose JSON holds a lone surrogate or U+0000 is queued and its exact bytes are stored", () =>
    Effect.gen(function*() {
      const repo = yield* repository
      const payloads = [
        pushPayload("refs/heads/main", { head_commit: { message: "half an emoji \ud83d then text" } }),
        pushPayload("refs/heads/main", { head_commit: { message: "nul \u0000 byte", "key\u0000": "\udc00" } })
      ]
      for (const text of payloads) {
        // Pretty-printed, so the bytes differ from any re-serialisation of the payload.
        const bytes = new TextEncoder().encode(JSON.stringify(JSON.parse(text), null, 2))
        const delivery = crypto.randomUUID()
        const response = yield* deliver(repo.id, { event: "push", body: bytes, delivery, secret: repo.secret })
        expect(response.status).toBe(202)
        const body = (yield* response.json) as { status: string; job_id: string }
        expect(body.status).toBe("queued")
        const stored = yield* storedPayload(delivery)
        expect(Buffer.from(stored.payloadRaw).equals(Buffer.from(bytes))).toBe(true)
        expect(stored.status).toBe("queued")
        // The jsonb copy, for querying, holds U+FFFD where jsonb cannot hold the character.
        expect(JSON.stringify(stored.payload)).toContain("\ufffd")
        expect(stored.payload).toMatchObject({ ref: "refs/heads/main", after: sha(2) })
        const copy = yield* deliver(repo.id, { event: "push", body: bytes, delivery, secret: repo.secret })
        expect(yield* copy.json).toEqual({ status: "duplicate", job_id: body.job_id })
      }
      const jobs = yield* updateJobs(repo.id)
      expect(jobs).toHaveLength(2)
      for (const job of jobs) expect(job.payload).toMatchObject({ branch: "main", after: sha(2) })
    }))

  it.effect("a payload Postgres refuses as jsonb for other reasons is kept as bytes only", () =>
    Effect.gen(function*() {
      const repo = yield* repository
      const cases = [
        // Nested deeper than Postgres's stack allows.
        `{"deep":${"[".repeat(100_000)}${"]".repeat(100_000)}}`,
        // A number beyond numeric's range.
        pushPayload("refs/heads/main").replace(/}$/, `,"size":1e1000000}`)
      ]
      for (const text of cases) {
        const bytes = new TextEncoder().encode(text)
        const delivery = crypto.randomUUID()
        const response = yield* deliver(repo.id, { event: "push", body: bytes, delivery, secret: repo.secret })
        expect(response.status).toBeLessThan(300)
        const stored = yield* storedPayload(delivery)
        expect(stored.payload).toBeNull()
        expect(Buffer.from(stored.payloadRaw).equals(Buffer.from(bytes))).toBe(true)
      }
      // The second one was still routed: a push to main.
      expect(yield* updateJobs(repo.id)).toHaveLength(1)
    }))

  it.effect("a copy is answered from the database, not from memory: a delivery gone since is recorded again", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const repo = yield* repository
      const delivery = crypto.randomUUID()
      const push = () => deliver(repo.id, { event: "push", body: pushPayload(), delivery, secret: repo.secret })
      const first = (yield* (yield* push()).json) as { job_id: string }
      expect(yield* (yield* push()).json).toEqual({ status: "duplicate", job_id: first.job_id })
      // Removed behind this process's back (retention, or another process's cleanup).
      yield* sql`DELETE FROM webhook_deliveries WHERE delivery_id = ${delivery}`
      const again = yield* push()
      expect(again.status).toBe(202)
      const second = (yield* again.json) as { status: string; job_id: string }
      expect(second.job_id).not.toBe(first.job_id)
      expect(yield* (yield* push()).json).toEqual({ status: "duplicate", job_id: second.job_id })
    }))

  it.effect("a body over 25 MB is a 413; an unknown repository a 404", () =>
    Effect.gen(function*() {
      const repo = yield* repository
      const big = new Uint8Array(25 * 1024 * 1024 + 1).fill(0x20)
      const response = yield* deliver(repo.id, { event: "push", body: big, secret: repo.secret })
      expect(response.status).toBe(413)
      expect(yield* response.json).toMatchObject({ _tag: "PayloadTooLarge", max_bytes: 25 * 1024 * 1024 })
      expect(yield* deliveryRows(repo.id)).toHaveLength(0)

      // No declared length: the body is refused once it grows past the limit, with the same 413.
      const address = (yield* HttpServer.HttpServer).address as HttpServer.TcpAddress
      const streamed = yield* Effect.async<{ status: number; body: string }, Error>((resume) => {
        const request = httpRequest({
          host: "127.0.0.1",
          port: address.port,
          method: "POST",
          path: `/webhooks/github/${repo.id}`,
          headers: {
            "content-type": "application/json",
            "transfer-encoding": "chunked",
            "x-github-event": "push",
            "x-github-delivery": crypto.randomUUID(),
            "x-hub-signature-256": sign(repo.secret, "{}")
          }
        }, (response) => {
          let body = ""
          response.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")))
          response.on("end", () => resume(Effect.succeed({ status: response.statusCode!, body })))
        })
        request.on("error", (error) => resume(Effect.fail(error)))
        const chunk = Buffer.alloc(1024 * 1024, 0x20)
        for (let i = 0; i < 26; i++) request.write(chunk)
        request.end()
      })
      expect(streamed.status).toBe(413)
      expect(JSON.parse(streamed.body)).toMatchObject({ _tag: "PayloadTooLarge" })
      expect(yield* deliveryRows(repo.id)).toHaveLength(0)

      const unknown = yield* deliver(crypto.randomUUID(), { event: "ping", body: "{}", secret: repo.secret })
      expect(unknown.status).toBe(404)
      expect(yield* unknown.json).toMatchObject({ _tag: "RepositoryNotFound" })
      expect((yield* deliver("not-a-uuid", { event: "ping", body: "{}", secret: repo.secret })).status).toBe(404)
    }))
})
