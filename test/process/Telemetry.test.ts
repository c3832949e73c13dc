import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted, Schedule } from "effect"
import { createHmac } from "node:crypto"
import { createServer } from "node:http"
import { freePort } from "../utils/freePort.js"
import { productionEnv, spawnServer, waitHealthy } from "../utils/ServerProcess.js"
import { freshDatabase } from "../utils/TestDatabase.js"

interface ExportedSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly attributes: ReadonlyArray<{ key: string; value: Record<string, unknown> }>
  readonly links?: ReadonlyArray<{ traceId: string; spanId: string }>
}

/** A real OTLP/HTTP receiver on loopback: decodes the JSON export requests it is sent. */
const otlpReceiver = Effect.acquireRelease(
  Effect.async<{ url: string; spans: Array<ExportedSpan>; close: () => void }>((resume) => {
    const spans: Array<ExportedSpan> = []
    const server = createServer((request, response) => {
      let body = ""
      request.on("data", (chunk) => body += chunk)
      request.on("end", () => {
        if (request.url === "/v1/traces" && request.headers["content-type"]?.includes("json")) {
          const decoded = JSON.parse(body) as {
            resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<ExportedSpan> }> }>
          }
          for (const rs of decoded.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans)
        }
        response.writeHead(200, { "content-type": "application/json" }).end("{}")
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number }
      resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, spans, close: () => server.close() }))
    })
  }),
  (receiver) => Effect.sync(receiver.close)
)

const attribute = (span: ExportedSpan, key: string) => {
  const value = span.attributes.find((a) => a.key === key)?.value
  return value === undefined ? undefined : Object.values(value)[0]
}

const request = (url: string, init: RequestInit = {}) =>
  Effect.promise(async () => {
    const response = await fetch(url, init)
    return { status: response.status, body: await response.text() }
  })

/** Prometheus text into `name{labels}` → value. */
const scrape = (port: number) =>
  Effect.map(request(`http://127.0.0.1:${port}/metrics`), ({ body, status }) => {
    expect(status).toBe(200)
    const values = new Map<string, number>()
    for (const line of body.split("\n")) {
      if (line === "" || line.startsWith("#")) continue
      const at = line.lastIndexOf(" ")
      values.set(line.slice(0, at), Number(line.slice(at + 1)))
    }
    return values
  })

const INTERNAL_KEY = "telemetry-internal-key-0123456789"

describe("telemetry", () => {
  it.live(
    "one webhook delivery: request span, enqueue span and a linked job.process span; metrics move; logs carry trace ids and no secret",
    () =>
      Effect.gen(function*() {
        const receiver = yield* otlpReceiver
        const { url } = yield* freshDatabase("telemetry")
        const port = yield* Effect.promise(freePort)
        const metricsPort = yield* Effect.promise(freePort)
        const server = yield* spawnServer({
          entry: "src",
          env: {
            ...productionEnv(Redacted.value(url), port),
            OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
            OTEL_SERVICE_NAME: "kotadb-telemetry-test",
            METRICS_PORT: String(metricsPort),
            INTERNAL_API_KEY: INTERNAL_KEY,
            WORKER_POLL_INTERVAL: "200 millis",
            LOG_LEVEL: "Info"
          }
        })
        yield* waitHealthy(server, port, 60_000)
        const base = `http://127.0.0.1:${port}`

        const created = yield* request(`${base}/internal/api-keys`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-internal-key": INTERNAL_KEY },
          body: JSON.stringify({ user_email: "telemetry@example.test", rate_limit: 1000 })
        })
        const apiKey = (JSON.parse(created.body) as { api_key: string }).api_key
        const registered = yield* request(`${base}/api/v1/repositories`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-api-key": apiKey },
          body: JSON.stringify({ git_url: "https://github.com/acme/telemetry" })
        })
        const repo = JSON.parse(registered.body) as { repository_id: string; webhook: { secret: string } }

        const payload = JSON.stringify({
          ref: "refs/heads/main",
          before: "1".repeat(40),
          after: "2".repeat(40),
          repository: { default_branch: "main" },
          commits: []
        })
        const sign = (secret: string) => `sha256=${createHmac("sha256", secret).update(payload).digest("hex")}`
        const deliver = (signature: string) =>
          request(`${base}/webhooks/github/${repo.repository_id}`, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              "x-github-event": "push",
              "x-github-delivery": crypto.randomUUID(),
              "x-hub-signature-256": signature
            },
            body: payload
          })
        const accepted = yield* deliver(sign(repo.webhook.secret))
        expect(accepted.status).toBe(202)
        const jobId = (JSON.parse(accepted.body) as { job_id: string }).job_id
        const refused = yield* deliver(sign("not the secret"))
        expect(refused.status).toBe(401)
        expect((yield* request(`${base}/api/v1/me`, { headers: { "x-api-key": "kdb_live_wrong" } })).status).toBe(401)
        expect((yield* request(`${base}/no/such/route`)).status).toBe(404)

        // The worker runs the job (it fails: github.com is out of reach here), and the spans arrive.
        const findSpans = Effect.sync(() => {
          const jobSpan = receiver.spans.find((s) => s.name === "job.process" && attribute(s, "job.id") === jobId)
          const enqueue = jobSpan?.links?.[0] === undefined
            ? undefined
            : receiver.spans.find((s) => s.spanId === jobSpan.links![0]!.spanId)
          const requestSpan = enqueue === undefined
            ? undefined
            : receiver.spans.find((s) =>
              s.traceId === enqueue.traceId && s.parentSpanId === undefined || s.parentSpanId === ""
            )
          return { jobSpan, enqueue, requestSpan }
        }).pipe(
          Effect.filterOrFail((found) =>
            found.jobSpan !== undefined && found.enqueue !== undefined && found.requestSpan !== undefined
          ),
          Effect.retry(Schedule.spaced("200 millis").pipe(Schedule.upTo("30 seconds"))),
          Effect.orElse(() => Effect.dieMessage(`spans not received: ${receiver.spans.map((s) => s.name).join(", ")}`))
        )
        const { enqueue, jobSpan, requestSpan } = yield* findSpans
        expect(enqueue!.name).toBe("WebhookStore.receive")
        expect(jobSpan!.links![0]!.traceId).toBe(enqueue!.traceId)
        expect(jobSpan!.traceId).not.toBe(enqueue!.traceId)
        expect(attribute(jobSpan!, "job.type")).toBe("webhook_update")
        expect(attribute(jobSpan!, "repository.id")).toBe(repo.repository_id)
        expect(requestSpan!.name).toContain("POST")
        expect(attribute(requestSpan!, "http.route")).toBe("/webhooks/github/:repository_id")
        // The enqueue span sits in the request's trace, under the request span.
        expect(enqueue!.traceId).toBe(requestSpan!.traceId)

        const metrics = yield* scrape(metricsPort)
        expect(
          metrics.get("http_requests_total{route=\"/webhooks/github/:repository_id\",method=\"POST\",status=\"202\"}")
        )
          .toBe(1)
        expect(
          metrics.get("http_requests_total{route=\"/webhooks/github/:repository_id\",method=\"POST\",status=\"401\"}")
        )
          .toBe(1)
        // Responses the error-shape middleware makes are counted with their own status, not as 500s.
        expect(metrics.get("http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"}")).toBe(1)
        expect(metrics.get("webhook_deliveries_total{outcome=\"queued\"}")).toBe(1)
        expect(metrics.get("webhook_deliveries_total{outcome=\"InvalidSignature\"}")).toBe(1)
        expect(metrics.get("auth_refusals_total{reason=\"unauthorized\"}")).toBe(1)
        expect(metrics.get("jobs_total{type=\"webhook_update\",outcome=\"errored\"}")).toBeGreaterThanOrEqual(1)
        expect(metrics.get("queue_depth{status=\"queued\"}")).toEqual(expect.any(Number))
        expect(metrics.get("db_connections{state=\"idle\"}")).toBeGreaterThanOrEqual(1)
        // Another delivery moves the counters.
        expect((yield* deliver(sign(repo.webhook.secret))).status).toBe(202)
        expect((yield* scrape(metricsPort)).get("webhook_deliveries_total{outcome=\"queued\"}")).toBe(2)

        // The refused delivery's warning is a JSON line with the trace id of its request; no secret anywhere.
        const lines = server.output().split("\n").filter((line) => line.startsWith("{"))
        const warning = lines.map((line) => JSON.parse(line) as Record<string, unknown>)
          .find((line) => line.message === "webhook signature refused")
        expect(warning).toMatchObject({ level: "WARN", repository_id: repo.repository_id })
        expect(warning!.trace_id).toMatch(/^[0-9a-f]{32}$/)
        expect(receiver.spans.some((s) => s.traceId === warning!.trace_id)).toBe(true)
        for (const secret of [repo.webhook.secret, apiKey, INTERNAL_KEY, sign(repo.webhook.secret).slice(7)]) {
          expect(server.output()).not.toContain(secret)
        }
      }).pipe(Effect.scoped),
    120_000
  )
})
