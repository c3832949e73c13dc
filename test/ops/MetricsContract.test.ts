import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted, Schedule } from "effect"
import { execFileSync } from "node:child_process"
import { createHmac } from "node:crypto"
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parse } from "yaml"
import { freePort } from "../utils/freePort.js"
import { productionEnv, projectRoot, spawnServer, waitHealthy } from "../utils/ServerProcess.js"
import { freshDatabase } from "../utils/TestDatabase.js"

// Dashboards and alerts name metrics and label values as strings: nothing but this test notices
// when the code renames or drops one, and the panel goes blank or the alert silent.

interface Query {
  readonly source: string
  readonly expr: string
}

interface Selector {
  readonly metric: string
  readonly matchers: ReadonlyArray<{ readonly label: string; readonly op: string; readonly value: string }>
}

/** Labels Prometheus attaches to every series it scrapes: not ours to export. */
const TARGET_LABELS = new Set(["instance", "job"])

const KEYWORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "and",
  "or",
  "unless",
  "bool",
  "offset"
])

/** Every metric an expression reads, with the label matchers it puts on it. */
const selectorsOf = (expr: string): ReadonlyArray<Selector> => {
  const text = expr.replace(/\$__\w+/g, "5m").replace(/\$\w+/g, "x")
  const selectors: Array<Selector> = []
  // label_values(metric, label) in a dashboard variable: the metric must carry the label.
  for (const [, metric, label] of text.matchAll(/label_values\(\s*([a-zA-Z_:][\w:]*)\s*,\s*(\w+)\s*\)/g)) {
    selectors.push({ metric: metric!, matchers: [{ label: label!, op: "=~", value: ".*" }] })
  }
  const rest = text.replace(/label_values\([^)]*\)/g, " ")
  for (const [, metric, body] of rest.matchAll(/([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}/g)) {
    if (KEYWORDS.has(metric!)) continue
    const matchers = [...body!.matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)].map(([, label, op, value]) => ({
      label: label!,
      op: op!,
      value: value!
    }))
    selectors.push({ metric: metric!, matchers })
  }
  const bare = rest
    .replace(/\{[^}]*\}/g, " ")
    .replace(/"[^"]*"/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b\d[\w.]*/g, " ") // numbers and durations (offset 5m)
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
  for (const [name] of bare.matchAll(/[a-zA-Z_:][\w:]*(?!\s*\()(?![\w:])/g)) {
    if (KEYWORDS.has(name) || selectors.some((s) => s.metric === name)) continue
    selectors.push({ metric: name, matchers: [] })
  }
  return selectors
}

const read = (path: string) => readFileSync(join(projectRoot, path), "utf8")

const alertRules = () => {
  const rules = parse(read("ops/prometheus/kotadb.rules.yml")) as {
    groups: ReadonlyArray<
      {
        rules: ReadonlyArray<{ alert: string; expr: string; annotations: Record<string, string> }>
      }
    >
  }
  return rules.groups.flatMap((group) => group.rules)
}

const dashboardQueries = (): ReadonlyArray<Query> => {
  const queries: Array<Query> = []
  const dir = join(projectRoot, "ops/grafana/dashboards")
  for (const file of readdirSync(dir).filter((name) => name.endsWith(".json"))) {
    const walk = (node: unknown, where: string) => {
      if (Array.isArray(node)) return node.forEach((item) => walk(item, where))
      if (node === null || typeof node !== "object") return
      const record = node as Record<string, unknown>
      const title = typeof record.title === "string" ? `${where} > ${record.title}` : where
      if (typeof record.expr === "string") queries.push({ source: title, expr: record.expr })
      if (typeof record.query === "string" && record.query.includes("(")) {
        queries.push({ source: title, expr: record.query })
      }
      for (const value of Object.values(record)) walk(value, title)
    }
    walk(JSON.parse(readFileSync(join(dir, file), "utf8")), file)
  }
  return queries
}

const allQueries = (): ReadonlyArray<Query> => [
  ...alertRules().map((rule) => ({ source: `alert ${rule.alert}`, expr: rule.expr })),
  ...dashboardQueries()
]

/** The series of a Prometheus text exposition: name and labels of each sample line. */
const seriesOf = (body: string) =>
  body.split("\n").filter((line) => line !== "" && !line.startsWith("#")).map((line) => {
    const name = line.match(/^[a-zA-Z_:][\w:]*/)![0]
    const labels = new Map<string, string>()
    const braces = line.match(/\{(.*)\}/)
    if (braces !== null) {
      for (const [, key, value] of braces[1]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels.set(key!, value!)
    }
    return { name, labels }
  })

type Series = ReturnType<typeof seriesOf>[number]

/** What is wrong with the queries against these series: each line a query, a metric and why. */
const problems = (queries: ReadonlyArray<Query>, series: ReadonlyArray<Series>) => {
  const found: Array<string> = []
  for (const query of queries) {
    for (const selector of selectorsOf(query.expr)) {
      const named = series.filter((s) => s.name === selector.metric)
      if (named.length === 0) {
        found.push(`${query.source}: ${selector.metric} is not exported`)
        continue
      }
      for (const matcher of selector.matchers) {
        if (TARGET_LABELS.has(matcher.label)) continue
        if (!named.some((s) => s.labels.has(matcher.label))) {
          found.push(`${query.source}: ${selector.metric} has no label ${matcher.label}`)
        } else if (matcher.op === "=" && !named.some((s) => s.labels.get(matcher.label) === matcher.value)) {
          found.push(`${query.source}: no ${selector.metric} series with ${matcher.label}="${matcher.value}"`)
        }
      }
    }
  }
  return found
}

const request = (url: string, init: RequestInit = {}) =>
  Effect.promise(async () => {
    const response = await fetch(url, init)
    return { status: response.status, body: await response.text() }
  })

const INTERNAL_KEY = "contract-internal-key-0123456789ab"

describe("alerts and dashboards against /metrics", () => {
  it("the query parser finds metrics, matchers and label_values, and skips functions, keywords and labels", () => {
    expect(
      selectorsOf(
        "histogram_quantile(0.99, sum by (route, le) (rate(http_request_duration_seconds_bucket{route!=\"/health\", instance=~\"$instance\"}[$__rate_interval]))) > 0.5 and on (route) up offset 5m"
      )
    ).toEqual([
      {
        metric: "http_request_duration_seconds_bucket",
        matchers: [{ label: "route", op: "!=", value: "/health" }, { label: "instance", op: "=~", value: "x" }]
      },
      { metric: "up", matchers: [] }
    ])
    expect(selectorsOf("max(queue_depth{status=\"queued\"}) > 350 * 1024 / db_pool_max_connections")).toEqual([
      { metric: "queue_depth", matchers: [{ label: "status", op: "=", value: "queued" }] },
      { metric: "db_pool_max_connections", matchers: [] }
    ])
    expect(selectorsOf("label_values(process_resident_memory_bytes, instance)")).toEqual([
      { metric: "process_resident_memory_bytes", matchers: [{ label: "instance", op: "=~", value: ".*" }] }
    ])
    // And the checker reports what is missing.
    const series = seriesOf("queue_depth{status=\"queued\"} 1\nup 1\n")
    expect(problems([{ source: "q", expr: "queue_depth{status=\"dead\"} + queue_depth{kind=~\"a\"} + nope" }], series))
      .toEqual([
        "q: no queue_depth series with status=\"dead\"",
        "q: queue_depth has no label kind",
        "q: nope is not exported"
      ])
  })

  it("every alert and every panel has queries, and every alert a summary and a runbook section", () => {
    const rules = alertRules()
    expect(rules.length).toBeGreaterThanOrEqual(16)
    const runbook = read("docs/operations.md")
    // GitHub's heading anchors: lower case, punctuation dropped.
    const anchors = new Set(
      [...runbook.matchAll(/^#+ (.+)$/gm)].map(([, heading]) =>
        heading!.trim().toLowerCase().replace(/[^\w\- ]/g, "").replace(/ /g, "-")
      )
    )
    for (const rule of rules) {
      expect(rule.annotations.summary, rule.alert).toEqual(expect.any(String))
      expect(rule.annotations.runbook, rule.alert).toBe(`docs/operations.md#${rule.alert.toLowerCase()}`)
      expect(anchors.has(rule.alert.toLowerCase()), `docs/operations.md has no section ${rule.alert}`).toBe(true)
    }
    const queries = dashboardQueries()
    expect(queries.length).toBeGreaterThan(30)
    for (const query of queries) expect(selectorsOf(query.expr).length, query.source).toBeGreaterThan(0)
  })

  it("promtool parses every dashboard query", () => {
    try {
      execFileSync("promtool", ["--version"], { stdio: "pipe" })
    } catch {
      // .ci/run installs promtool before the tests; a developer's machine may not have it.
      return
    }
    const dir = mkdtempSync(join(tmpdir(), "kotadb-dashboards-"))
    try {
      const rules = dashboardQueries().filter((query) => !query.expr.startsWith("label_values(")).map((query, i) => ({
        record: `dashboard:query_${i}`,
        expr: query.expr.replace(/\$__\w+/g, "5m").replace(/\$\w+/g, "x")
      }))
      const file = join(dir, "dashboard.rules.json")
      writeFileSync(file, JSON.stringify({ groups: [{ name: "dashboard", rules }] }))
      expect(() => execFileSync("promtool", ["check", "rules", file], { stdio: "pipe" })).not.toThrow()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it.live(
    "every metric and label value they use is exported by a running server once it has served traffic and run jobs",
    () =>
      Effect.gen(function*() {
        const { url } = yield* freshDatabase("contract")
        const port = yield* Effect.promise(freePort)
        const metricsPort = yield* Effect.promise(freePort)
        const server = yield* spawnServer({
          entry: "src",
          env: {
            ...productionEnv(Redacted.value(url), port),
            METRICS_PORT: String(metricsPort),
            INTERNAL_API_KEY: INTERNAL_KEY,
            WORKER_POLL_INTERVAL: "200 millis",
            HEALTH_CACHE_TTL: "0 millis"
          }
        })
        yield* waitHealthy(server, port, 60_000)
        const base = `http://127.0.0.1:${port}`

        // Traffic: a key, a repository (its provision_webhook job fails for good: no GitHub token here),
        // accepted and refused deliveries, a refused API request.
        const created = yield* request(`${base}/internal/api-keys`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-internal-key": INTERNAL_KEY },
          body: JSON.stringify({ user_email: "contract@example.test", rate_limit: 1000 })
        })
        const apiKey = (JSON.parse(created.body) as { api_key: string }).api_key
        const registered = yield* request(`${base}/api/v1/repositories`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-api-key": apiKey },
          body: JSON.stringify({ git_url: "https://github.com/acme/contract" })
        })
        const repo = JSON.parse(registered.body) as { repository_id: string; webhook: { secret: string } }
        const payload = JSON.stringify({ zen: "Keep it logically awesome.", hook_id: 1 })
        const deliver = (repository: string, secret: string, headers: Record<string, string> = {}) =>
          request(`${base}/webhooks/github/${repository}`, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              "x-github-event": "ping",
              "x-github-delivery": crypto.randomUUID(),
              "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(payload).digest("hex")}`,
              ...headers
            },
            body: payload
          })
        expect((yield* deliver(repo.repository_id, repo.webhook.secret)).status).toBe(200)
        expect((yield* deliver(repo.repository_id, "not the secret")).status).toBe(401)
        expect((yield* deliver(repo.repository_id, repo.webhook.secret, { "x-github-delivery": "" })).status).toBe(400)
        expect((yield* deliver(crypto.randomUUID(), repo.webhook.secret)).status).toBe(404)
        expect((yield* request(`${base}/api/v1/repositories`, { headers: { "x-api-key": "kdb_live_wrong" } })).status)
          .toBe(401)

        // The jobs run (and fail) in the background: wait until their counters are there.
        const scrape = request(`http://127.0.0.1:${metricsPort}/metrics`).pipe(
          Effect.map(({ body }) => seriesOf(body)),
          Effect.filterOrFail((series) =>
            series.some((s) => s.name === "jobs_total" && s.labels.get("outcome") === "failed") &&
            series.some((s) => s.name === "job_duration_seconds_bucket")
          ),
          Effect.retry(Schedule.spaced("200 millis").pipe(Schedule.upTo("30 seconds"))),
          Effect.orElse(() => Effect.dieMessage(`no job outcome on /metrics:\n${server.output()}`))
        )
        const series = yield* scrape
        expect(problems(allQueries(), series)).toEqual([])
      }).pipe(Effect.scoped),
    120_000
  )
})
