import * as Arr from "effect/Array"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricLabel from "effect/MetricLabel"
import type * as MetricPair from "effect/MetricPair"
import * as MetricState from "effect/MetricState"

const seconds = MetricBoundaries.exponential({ start: 0.005, factor: 2, count: 14 })

/** Every metric the process exports; `/metrics` on `METRICS_PORT` renders them for Prometheus. */
export const Metrics = {
  httpRequests: Metric.counter("http_requests_total", {
    description: "HTTP requests by route template, method and status",
    incremental: true
  }),
  httpDuration: Metric.histogram("http_request_duration_seconds", seconds, "HTTP request durations by route"),
  jobs: Metric.counter("jobs_total", { description: "Job attempts by type and outcome", incremental: true }),
  jobDuration: Metric.histogram("job_duration_seconds", seconds, "Job attempt durations by type"),
  queueDepth: Metric.gauge("queue_depth", { description: "Jobs by status (queued, in_progress, stuck, dead)" }),
  webhookDeliveries: Metric.counter("webhook_deliveries_total", {
    description: "GitHub deliveries by outcome",
    incremental: true
  }),
  authRefusals: Metric.counter("auth_refusals_total", {
    description: "Refused API requests by reason",
    incremental: true
  }),
  dbConnections: Metric.gauge("db_connections", {
    description: "This application's Postgres connections by state, as pg_stat_activity reports them"
  }),
  // Sampled at scrape time from /health's cached report, the pool's counters and the process.
  queueDepthByType: Metric.gauge("queue_depth_by_type", {
    description: "Jobs by type and status (queued, in_progress, stuck, dead)"
  }),
  queueOldestQueuedSeconds: Metric.gauge("queue_oldest_queued_seconds", {
    description: "Age of the oldest due queued job by type (0 when none is waiting)"
  }),
  queueFailedLastHour: Metric.gauge("queue_failed_last_hour", {
    description: "Jobs by type that failed for good in the last hour"
  }),
  databaseUp: Metric.gauge("database_up", { description: "1 when /health's database ping succeeds, else 0" }),
  databaseLatency: Metric.gauge("database_ping_seconds", { description: "Latency of /health's database ping" }),
  dbPoolConnections: Metric.gauge("db_pool_connections", {
    description: "This process's pool connections by state (in_use, idle)"
  }),
  dbPoolMax: Metric.gauge("db_pool_max_connections", { description: "The pool's size (DATABASE_MAX_CONNECTIONS)" }),
  dbPoolWaiting: Metric.gauge("db_pool_waiting_requests", { description: "Queries waiting for a pool connection" }),
  residentMemory: Metric.gauge("process_resident_memory_bytes", { description: "Resident set size" }),
  heapUsed: Metric.gauge("nodejs_heap_size_used_bytes", { description: "V8 heap in use" }),
  heapTotal: Metric.gauge("nodejs_heap_size_total_bytes", { description: "V8 heap allocated" }),
  startTime: Metric.gauge("process_start_time_seconds", { description: "Process start, in seconds since the epoch" })
} as const

/**
 * `metric` (a plain counter, gauge or histogram) tagged with these values, made once per distinct
 * values. `Metric.tagged` builds a fresh tag array, and so a fresh registry key (hashed, its
 * description formatted), on every update; the registry caches a metric's hook per tag array by
 * identity, so passing one array per value set makes an update a lookup.
 */
export const tagger = <Type, In, Out>(metric: Metric.Metric<Type, In, Out>, ...keys: ReadonlyArray<string>) => {
  const made = new Map<string, Metric.Metric<Type, In, Out>>()
  return (...values: ReadonlyArray<string>) => {
    const id = values.join("\u0000")
    let tagged = made.get(id)
    if (tagged === undefined) {
      const labels = keys.map((key, i) => MetricLabel.make(key, values[i] ?? ""))
      const withExtra = (extra: ReadonlyArray<MetricLabel.MetricLabel>) =>
        extra.length === 0 ? labels : Arr.union(labels, extra)
      tagged = Metric.make(
        metric.keyType,
        (input, extra) => metric.unsafeUpdate(input, withExtra(extra)),
        (extra) => metric.unsafeValue(withExtra(extra)),
        (input, extra) => metric.unsafeModify(input, withExtra(extra))
      )
      made.set(id, tagged)
    }
    return tagged
  }
}

const escape = (value: string) => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, "\\\"")

const labels = (tags: ReadonlyArray<{ readonly key: string; readonly value: string }>, extra?: string) => {
  const parts = tags.map((tag) => `${tag.key}="${escape(tag.value)}"`)
  if (extra !== undefined) parts.push(extra)
  return parts.length === 0 ? "" : `{${parts.join(",")}}`
}

const number = (value: number | bigint) =>
  typeof value === "bigint" ? value.toString() : Number.isFinite(value) ? String(value) : value > 0 ? "+Inf" : "-Inf"

/** The Prometheus text exposition (version 0.0.4) of the given metric pairs. */
export const renderPrometheus = (pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>) => {
  const families = new Map<string, { type: string; help: string; lines: Array<string> }>()
  for (const { metricKey: key, metricState: state } of pairs) {
    const name = key.name
    const type = MetricState.isCounterState(state)
      ? "counter"
      : MetricState.isGaugeState(state)
      ? "gauge"
      : MetricState.isHistogramState(state)
      ? "histogram"
      : undefined
    if (type === undefined) continue
    const family = families.get(name) ??
      { type, help: key.description._tag === "Some" ? key.description.value : name, lines: [] }
    families.set(name, family)
    if (MetricState.isCounterState(state)) {
      family.lines.push(`${name}${labels(key.tags)} ${number(state.count)}`)
    } else if (MetricState.isGaugeState(state)) {
      family.lines.push(`${name}${labels(key.tags)} ${number(state.value)}`)
    } else if (MetricState.isHistogramState(state)) {
      // Effect's buckets are cumulative and end with +Inf, which is written from the count below.
      for (const [bound, count] of state.buckets) {
        if (!Number.isFinite(bound)) continue
        family.lines.push(`${name}_bucket${labels(key.tags, `le="${number(bound)}"`)} ${count}`)
      }
      family.lines.push(`${name}_bucket${labels(key.tags, "le=\"+Inf\"")} ${state.count}`)
      family.lines.push(`${name}_sum${labels(key.tags)} ${number(state.sum)}`)
      family.lines.push(`${name}_count${labels(key.tags)} ${state.count}`)
    }
  }
  let out = ""
  for (const [name, family] of families) {
    out += `# HELP ${name} ${escape(family.help)}\n# TYPE ${name} ${family.type}\n${family.lines.join("\n")}\n`
  }
  return out
}
