// npm run smoke -- <base-url> [api-key] [--json]
// The deployed service's smoke check (the original saas_smoke.sh): exit 0 only when /health says ok,
// Postgres answers, no job failed in the last hour and, given a key, an authenticated listing works.
// Human output by default; --json prints one JSON object for CI, with /health's figures under
// `measurements` (scripts/smoke-gate.ts holds a deploy to thresholds on them).

interface Check {
  readonly name: string
  readonly ok: boolean
  readonly detail: string
}

const args = process.argv.slice(2)
const json = args.includes("--json")
const [baseUrl, apiKey] = args.filter((arg) => arg !== "--json")

const usage = () => {
  process.stderr.write("usage: npm run smoke -- <base-url> [api-key] [--json]\n")
  process.exit(2)
}

const fetchJson = async (url: string, headers: Record<string, string> = {}) => {
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) })
  const text = await response.text()
  let body: unknown = null
  try {
    body = JSON.parse(text)
  } catch {
    body = text.slice(0, 200)
  }
  return { status: response.status, body }
}

const main = async () => {
  if (baseUrl === undefined || !/^https?:\/\//.test(baseUrl)) return usage()
  const base = baseUrl.replace(/\/+$/, "")
  const checks: Array<Check> = []
  const check = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail })
  const measurements: Record<string, number | null> = {
    database_latency_ms: null,
    queued: null,
    in_progress: null,
    stuck: null,
    dead: null,
    failed_last_hour: null,
    oldest_queued_seconds: null
  }

  try {
    const health = await fetchJson(`${base}/health`)
    const body = health.body as {
      status?: string
      version?: string
      database?: { status?: string; latency_ms?: number | null }
      queue?: { failed_last_hour?: number; queued?: number; stuck?: number } | null
    }
    measurements.database_latency_ms = body.database?.latency_ms ?? null
    for (const key of ["queued", "in_progress", "stuck", "dead", "failed_last_hour", "oldest_queued_seconds"]) {
      const value = (body.queue as Record<string, unknown> | null | undefined)?.[key]
      measurements[key] = typeof value === "number" ? value : null
    }
    check(
      "health",
      health.status === 200 && body.status === "ok",
      `${health.status} ${body.status ?? "?"} (version ${body.version ?? "?"})`
    )
    check(
      "database",
      body.database?.status === "ok",
      `${body.database?.status ?? "unknown"}, ${body.database?.latency_ms ?? "-"} ms`
    )
    const failed = body.queue?.failed_last_hour
    check(
      "jobs",
      failed === 0,
      failed === undefined
        ? "queue counts unavailable"
        : `${failed} failed in the last hour, ${body.queue?.queued ?? 0} queued, ${body.queue?.stuck ?? 0} stuck`
    )
  } catch (error) {
    check("health", false, `unreachable: ${String(error)}`)
  }
  if (apiKey !== undefined) {
    try {
      const listing = await fetchJson(`${base}/api/v1/repositories?limit=1`, { "x-api-key": apiKey })
      check("authenticated listing", listing.status === 200, `GET /api/v1/repositories answered ${listing.status}`)
    } catch (error) {
      check("authenticated listing", false, `failed: ${String(error)}`)
    }
  }

  const ok = checks.every((c) => c.ok)
  if (json) {
    process.stdout.write(JSON.stringify({ ok, base_url: base, checks, measurements }) + "\n")
  } else {
    for (const c of checks) process.stdout.write(`${c.ok ? "ok  " : "FAIL"}  ${c.name.padEnd(22)} ${c.detail}\n`)
    process.stdout.write(ok ? "smoke: ok\n" : "smoke: FAILED\n")
  }
  process.exit(ok ? 0 : 1)
}

void main()
