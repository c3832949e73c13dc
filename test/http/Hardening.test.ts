// The findings of a black-box probe with two tenants' keys (issue 17, item 9): body limits, values
// that Postgres refuses, security headers, slow clients and the metrics listener.
import type { HttpClientResponse } from "@effect/platform"
import { HttpClient, HttpClientRequest, HttpLayerRouter, HttpServer } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { createHash } from "node:crypto"
import { connect, type Socket } from "node:net"
import { NodeServerLive, RoutesLive } from "../../src/layers/Http.js"
import { MetricsServerLive } from "../../src/layers/MetricsServer.js"
import { freePort } from "../utils/freePort.js"
import { createKey, get, withKey } from "../utils/keys.js"
import { testApp, testServices } from "../utils/TestApp.js"
import { TestDatabaseLive } from "../utils/TestDatabase.js"

const INTERNAL_KEY = "hardening-internal-key-0123456789"
const LIMIT = 1024 * 1024

interface RawResponse {
  /** Everything the server wrote. */
  readonly text: string
  /** Whether the server closed the connection before `waitMs` ran out. */
  readonly closed: boolean
}

/**
 * A connection to the server that `write` drives; it ends when the server closes it, or after `waitMs`
 * (a bound for tests that fail on a server that never answers, not a timing assertion).
 */
const raw = (port: number, write: (socket: Socket) => void, waitMs = 10_000) =>
  Effect.promise(() =>
    new Promise<RawResponse>((resolve) => {
      const socket = connect(port, "127.0.0.1")
      let text = ""
      const timer = setTimeout(() => {
        socket.destroy()
        resolve({ text, closed: false })
      }, waitMs)
      socket.on("connect", () => write(socket))
      socket.on("data", (chunk) => text += chunk.toString("latin1"))
      socket.on("error", () => {})
      socket.on("close", () => {
        clearTimeout(timer)
        resolve({ text, closed: true })
      })
    })
  )

const statusOf = (response: RawResponse) => Number(/^HTTP\/1\.1 (\d{3})/.exec(response.text)?.[1] ?? 0)
const headerOf = (response: RawResponse, name: string) =>
  new RegExp(`^${name}: (.*)$`, "im").exec(response.text.split("\r\n\r\n")[0]!)?.[1]?.trim()
const bodyOf = (response: RawResponse) => JSON.parse(response.text.split("\r\n\r\n").slice(1).join("\r\n\r\n"))

const serverPort = Effect.map(HttpServer.HttpServer, (server) => (server.address as HttpServer.TcpAddress).port)

const send = (method: "GET" | "POST", path: string, headers: Record<string, string>, body?: unknown) =>
  Effect.flatMap(HttpClient.HttpClient, (client) =>
    client.execute(
      HttpClientRequest.make(method)(path).pipe(
        HttpClientRequest.setHeaders(headers),
        body === undefined ? (request) => request : HttpClientRequest.bodyUnsafeJson(body)
      )
    ))

const admin = { "x-internal-key": INTERNAL_KEY }
const createKeyRequest = (body: unknown) => send("POST", "/internal/api-keys", admin, body)
const email = () => `${crypto.randomUUID()}@example.test`

const repositoryCount = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => sql<{ n: number }>`SELECT count(*)::int AS n FROM repositories`.pipe(Effect.map((rows) => rows[0]!.n))
)

layer(testApp({ INTERNAL_API_KEY: INTERNAL_KEY, KOTADB_WEBHOOK_BASE_URL: "https://hooks.example.test" }), {
  timeout: "60 seconds",
  excludeTestServices: true
})("hardening", (it) => {
  it.effect("a declared Content-Length over the limit is a 413 before any of the body is read", () =>
    Effect.gen(function*() {
      const port = yield* serverPort
      const { api_key } = yield* createKey()
      const response = yield* raw(port, (socket) => {
        socket.write(
          "POST /api/v1/repositories HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n" +
            `X-API-Key: ${api_key}\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\n{"git_url":"`
        )
      })
      expect(statusOf(response)).toBe(413)
      expect(bodyOf(response)).toEqual({
        _tag: "PayloadTooLarge",
        message: `the body is larger than ${LIMIT} bytes`,
        max_bytes: LIMIT
      })
      expect(response.closed).toBe(true)
    }))

  it.effect("a chunked body is counted while it streams: past the limit it is a 413 and the connection closes", () =>
    Effect.gen(function*() {
      const port = yield* serverPort
      const chunk = "x".repeat(64 * 1024)
      const response = yield* raw(port, (socket) => {
        socket.write(
          "POST /internal/api-keys HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n" +
            `X-Internal-Key: ${INTERNAL_KEY}\r\nTransfer-Encoding: chunked\r\n\r\n`
        )
        socket.write(`b\r\n{"name": "x\r\n`)
        // One chunk past the limit, then the sender keeps the body open.
        for (let sent = 0; sent <= LIMIT; sent += chunk.length) {
          socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`)
        }
      })
      expect(statusOf(response)).toBe(413)
      expect(bodyOf(response)._tag).toBe("PayloadTooLarge")
      expect(headerOf(response, "connection")).toBe("close")
      expect(response.closed).toBe(true)
    }))

  it.effect("a chunked body under the limit, and the webhook route's own limit, are unchanged", () =>
    Effect.gen(function*() {
      const port = yield* serverPort
      const body = JSON.stringify({ user_email: email(), name: "y".repeat(150) })
      const response = yield* raw(port, (socket) => {
        socket.write(
          "POST /internal/api-keys HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n" +
            `X-Internal-Key: ${INTERNAL_KEY}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`
        )
        const half = body.length >> 1
        for (const part of [body.slice(0, half), body.slice(half)]) {
          socket.write(`${Buffer.byteLength(part).toString(16)}\r\n${part}\r\n`)
        }
        socket.write("0\r\n\r\n")
      })
      expect(statusOf(response)).toBe(201)
      expect(bodyOf(response).api_key).toMatch(/^kdb_/)

      // 2 MB is over HTTP_BODY_LIMIT but within the webhook's 25 MB: refused for its signature, not its size.
      const hook = yield* send(
        "POST",
        `/webhooks/github/${crypto.randomUUID()}`,
        { "x-github-event": "push", "x-github-delivery": crypto.randomUUID(), "x-hub-signature-256": "sha256=00" },
        { padding: "z".repeat(2 * 1024 * 1024) }
      )
      expect(hook.status).not.toBe(413)
      expect(hook.status).toBeLessThan(500)
    }))

  it.effect("a rejected value is quoted in at most about 100 characters, never with the whole schema", () =>
    Effect.gen(function*() {
      const { api_key } = yield* createKey()
      const response = yield* send("POST", "/api/v1/repositories", withKey(api_key), {
        git_url: `https://github.com/acme/${"a".repeat(900 * 1024)}`
      })
      expect(response.status).toBe(400)
      const text = yield* response.text
      expect(text.length).toBeLessThan(2000)
      const body = JSON.parse(text) as { _tag: string; message: string; issues: Array<{ message: string }> }
      expect(body._tag).toBe("HttpApiDecodeError")
      expect(body.message).toMatch(/^git_url: Expected a string at most 2048 character\(s\) long, actual "https/)
      expect(body.message.length).toBeLessThan(250)
      expect(body.message).not.toContain("readonly")
      expect(body.issues).toHaveLength(1)

      // Any other refusal that quotes what it refuses is cut too.
      for (const path of [`/webhooks/github/${"x".repeat(5000)}`, `/no/such/${"y".repeat(5000)}`]) {
        const refused = yield* send("POST", path, {}, {})
        expect(refused.status).toBe(404)
        expect(((yield* refused.json) as { message: string }).message.length).toBeLessThan(250)
      }
    }))

  it.effect("NUL characters and lone surrogates in a query, a name or an email are 400s, and nothing is written", () =>
    Effect.gen(function*() {
      const { api_key } = yield* createKey()
      const search = yield* get("/api/v1/search/code?q=abc%00def", withKey(api_key))
      expect(search.status).toBe(400)
      expect((yield* search.json as Effect.Effect<{ _tag: string }>)._tag).toBe("HttpApiDecodeError")

      const before = yield* repositoryCount
      for (const name of ["a\u0000b", "a\ud800b", "\udc00"]) {
        const response = yield* send("POST", "/api/v1/repositories", withKey(api_key), {
          git_url: `https://github.com/acme/nul-${crypto.randomUUID()}`,
          name
        })
        expect(response.status, JSON.stringify(name)).toBe(400)
        const body = (yield* response.json) as { message: string }
        expect(body.message).toContain("must not contain NUL characters or unpaired surrogates")
      }
      expect(yield* repositoryCount).toBe(before)

      expect((yield* get("/internal/api-keys?user_email=a%00b%40example.test", admin)).status).toBe(400)
      expect((yield* createKeyRequest({ user_email: "a\u0000b@example.test" })).status).toBe(400)
      expect((yield* createKeyRequest({ user_email: email(), name: "\ud83d" })).status).toBe(400)
      // A surrogate pair is a character like any other.
      expect((yield* createKeyRequest({ user_email: email(), name: "\ud83d\udca5" })).status).toBe(201)
    }))

  it.effect("an expiry date outside the years Postgres stores is a 400", () =>
    Effect.gen(function*() {
      for (const date of ["-004714-01-01T00:00:00Z", "-100000-01-01T00:00:00Z", "+275760-09-13T00:00:00Z"]) {
        const response = yield* createKeyRequest({ user_email: email(), expires_at: date })
        expect(response.status, date).toBe(400)
      }
      expect((yield* createKeyRequest({ user_email: email(), expires_at: "9999-12-31T00:00:00Z" })).status).toBe(201)
    }))

  it.effect("allowed_ips takes only networks Postgres' cidr reads as they are", () =>
    Effect.gen(function*() {
      for (
        const network of ["999.1.1.1/8", "10.0.0.1/8", "::1/129", "1.2.3.4/33", "fe80::1%eth0", "10/8", "1.2.3.4/", "x"]
      ) {
        const response = yield* createKeyRequest({ user_email: email(), allowed_ips: [network] })
        expect(response.status, network).toBe(400)
        expect(((yield* response.json) as { _tag: string })._tag, network).toBe("HttpApiDecodeError")
      }
      const networks = ["10.0.0.0/8", "2001:db8::/32", "192.168.1.7", "::ffff:10.0.0.0/104", "0.0.0.0/0", "::/0"]
      const created = yield* createKeyRequest({ user_email: email(), allowed_ips: networks })
      expect(created.status).toBe(201)
      const { key_id } = (yield* created.json) as { key_id: string }
      const sql = yield* SqlClient.SqlClient
      const [row] = yield* sql<
        { ips: Array<string> }
      >`SELECT allowed_ips::text[] AS ips FROM api_keys WHERE id = ${key_id}`
      expect(row!.ips).toHaveLength(networks.length)
    }))

  it.effect("every response has nosniff, including 404, 405, /health, /openapi.json, /docs and node's own 400", () =>
    Effect.gen(function*() {
      const { api_key } = yield* createKey()
      const responses: Array<[string, HttpClientResponse.HttpClientResponse]> = [
        ["/health", yield* get("/health")],
        ["/health/live", yield* get("/health/live")],
        ["/openapi.json", yield* get("/openapi.json")],
        ["/docs", yield* get("/docs")],
        ["404", yield* get("/no/such/route")],
        ["405", yield* send("POST", "/health", {})],
        ["401", yield* get("/api/v1/usage")],
        ["200", yield* get("/api/v1/usage", withKey(api_key))],
        ["400", yield* get("/api/v1/search/code?q=a%00b", withKey(api_key))]
      ]
      for (const [name, response] of responses) {
        expect(response.headers["x-content-type-options"], name).toBe("nosniff")
      }
      expect(responses.map(([, response]) => response.status)).toEqual([200, 200, 200, 200, 404, 405, 401, 200, 400])

      const malformed = yield* raw(yield* serverPort, (socket) => socket.write("NOT HTTP AT ALL\r\n\r\n"))
      expect(statusOf(malformed)).toBe(400)
      expect(headerOf(malformed, "x-content-type-options")).toBe("nosniff")
    }))

  it.effect("responses that carry a key or a webhook secret are no-store", () =>
    Effect.gen(function*() {
      const created = yield* createKeyRequest({ user_email: email() })
      const legacy = yield* send("POST", "/internal/create-api-key", admin, { user_email: email() })
      const { api_key, key_id } = (yield* created.json) as { api_key: string; key_id: string }
      const rotated = yield* send("POST", `/internal/api-keys/${key_id}/rotate`, admin)
      const { api_key: rotatedKey } = (yield* rotated.json) as { api_key: string }
      const registered = yield* send("POST", "/api/v1/repositories", withKey(rotatedKey), {
        git_url: `https://github.com/acme/secret-${crypto.randomUUID()}`
      })
      const { repository_id, webhook } = (yield* registered.json) as {
        repository_id: string
        webhook: { secret?: string }
      }
      expect(webhook.secret).toBeDefined()
      const rotatedSecret = yield* send(
        "POST",
        `/api/v1/repositories/${repository_id}/webhook-secret/rotate`,
        withKey(rotatedKey)
      )
      expect([created.status, legacy.status, rotated.status, registered.status, rotatedSecret.status]).toEqual([
        201,
        201,
        200,
        201,
        200
      ])
      expect(api_key).not.toBe(rotatedKey)
      for (const response of [created, legacy, rotated, registered, rotatedSecret]) {
        expect(response.headers["cache-control"], response.request.url).toBe("no-store")
      }
    }))

  it.effect("/docs has a CSP that runs exactly its own inline scripts and forbids framing", () =>
    Effect.gen(function*() {
      const response = yield* get("/docs")
      const html = yield* response.text
      const policy = response.headers["content-security-policy"] ?? ""
      const directives = new Map(
        policy.split(";").map((d) => {
          const [name = "", ...values] = d.trim().split(/\s+/)
          return [name, values] as const
        })
      )
      expect(directives.get("frame-ancestors")).toEqual(["'none'"])
      expect(response.headers["x-frame-options"]).toBe("DENY")
      expect(directives.get("default-src")).toEqual(["'none'"])
      const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!)
      expect(scripts.length).toBe(1)
      // Scalar's bundle comes from this origin (src/http/Docs.ts), so 'self' and no other host.
      expect(html).toMatch(/<script src="\/docs\/scalar\.js\?v=[^"]+"><\/script>/)
      const allowed = directives.get("script-src") ?? []
      expect(allowed.filter((source) => !source.startsWith("'sha256-"))).toEqual(["'self'", "'unsafe-eval'"])
      for (const script of scripts) {
        expect(allowed).toContain(`'sha256-${createHash("sha256").update(script).digest("base64")}'`)
      }
      expect(allowed).not.toContain("'unsafe-inline'")
      // The API's own responses may not be framed or run anything either.
      expect((yield* get("/health/live")).headers["content-security-policy"]).toBe(
        "default-src 'none'; frame-ancestors 'none'"
      )
    }))
})

const [apiPort, metricsPort] = [await freePort(), await freePort()]

/** The production server layer (`NodeServerLive`, configured from AppConfig) and the metrics server. */
const configuredServer = HttpLayerRouter.serve(RoutesLive, { disableLogger: true, disableListenLog: true }).pipe(
  Layer.provideMerge(NodeServerLive),
  Layer.merge(MetricsServerLive),
  Layer.provideMerge(testServices({
    PORT: String(apiPort),
    // Every interface for the API, so that only METRICS_HOST keeps the metrics server on loopback.
    HOST: "0.0.0.0",
    HTTP_HEADERS_TIMEOUT: "150 millis",
    HTTP_REQUEST_TIMEOUT: "300 millis",
    HTTP_KEEP_ALIVE_TIMEOUT: "150 millis",
    METRICS_PORT: String(metricsPort),
    METRICS_HOST: "127.0.0.1"
  })),
  Layer.provideMerge(TestDatabaseLive)
)

layer(configuredServer, { timeout: "60 seconds", excludeTestServices: true })("configured server", (it) => {
  it.effect("slow headers are cut with a 408 at HTTP_HEADERS_TIMEOUT", () =>
    Effect.gen(function*() {
      const response = yield* raw(yield* serverPort, (socket) => socket.write("GET /health HTTP/1.1\r\nHost: test\r\n"))
      expect(response.closed).toBe(true)
      expect(statusOf(response)).toBe(408)
      expect(bodyOf(response)._tag).toBe("RequestTimeout")
      expect(headerOf(response, "x-content-type-options")).toBe("nosniff")
    }))

  it.effect("a slow body is cut with a 408 at HTTP_REQUEST_TIMEOUT", () =>
    Effect.gen(function*() {
      const response = yield* raw(yield* serverPort, (socket) => {
        socket.write(
          "POST /webhooks/github/00000000-0000-0000-0000-000000000000 HTTP/1.1\r\nHost: test\r\n" +
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"zen\":"
        )
      })
      expect(response.closed).toBe(true)
      expect(statusOf(response)).toBe(408)
    }))

  it.effect("an idle keep-alive connection is closed at HTTP_KEEP_ALIVE_TIMEOUT", () =>
    Effect.gen(function*() {
      // Well under node's default keep-alive timeout (5 s): only the configured one can close it in time.
      const response = yield* raw(
        yield* serverPort,
        (socket) => socket.write("GET /health/live HTTP/1.1\r\nHost: test\r\n\r\n"),
        3000
      )
      expect(statusOf(response)).toBe(200)
      expect(response.closed).toBe(true)
    }))

  it.effect("the metrics server listens on METRICS_HOST only, with nosniff", () =>
    Effect.gen(function*() {
      // 127.0.0.2 is loopback too: it answers only when the listener is bound to every interface.
      const elsewhere = yield* Effect.promise(() =>
        new Promise<string>((resolve) => {
          const socket = connect(metricsPort, "127.0.0.2")
          socket.on("connect", () => {
            socket.destroy()
            resolve("connected")
          })
          socket.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"))
        })
      )
      expect(elsewhere).toBe("ECONNREFUSED")
      const metrics = yield* Effect.promise(() => fetch(`http://127.0.0.1:${metricsPort}/metrics`))
      expect(metrics.status).toBe(200)
      expect(metrics.headers.get("x-content-type-options")).toBe("nosniff")
    }))
})
