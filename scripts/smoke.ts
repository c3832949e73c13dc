// npm run smoke -- <base-url> [api-key] [--mcp] [--json]
// The deployed service's smoke check (the original saas_smoke.sh): exit 0 only when /health says ok,
// Postgres answers, no job failed in the last hour and, given a key, an authenticated listing works.
// --mcp (needs the key) also checks MCP at /mcp with the SDK's client: initialize, tools/list and one
// search_code. Human output by default; --json prints one JSON object for CI, with /health's figures
// under `measurements` (scripts/smoke-gate.ts holds a deploy to thresholds on them).
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"

interface Check {
  readonly name: string
  readonly ok: boolean
  readonly detail: string
}

const args = process.argv.slice(2)
const json = args.includes("--json")
const mcp = args.includes("--mcp")
const [baseUrl, apiKey] = args.filter((arg) => arg !== "--json" && arg !== "--mcp")

const usage = () => {
  process.stderr.write("usage: npm run smoke -- <base-url> [api-key] [--mcp] [--json]\n")
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

const checkMcp = async (base: string, check: (name: string, ok: boolean, detail: string) => void) => {
  if (apiKey === undefined) return check("mcp", false, "--mcp needs an API key")
  const client = new Client({ name: "kotadb-smoke", version: "1.0.0" })
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
    requestInit: { headers: { "x-api-key": apiKey }, signal: AbortSignal.timeout(10_000) }
  })
  try {
    await client.connect(transport)
    check("mcp initialize", true, `protocol ${transport.protocolVersion ?? "?"}, ${client.getServerVersion()?.name}`)
    const { tools } = await client.listTools()
    check("mcp tools/list", tools.some((t) => t.name === "search_code"), `${tools.length} tools`)
    const result = await client.callTool({ name: "search_code", arguments: { query: "async fn", limit: 5 } })
    const matches = (result.structuredContent as { matches?: Array<unknown> } | undefined)?.matches
    check(
      "mcp search_code",
      result.isError !== true && Array.isArray(matches),
      result.isError === true
        ? `tool error: ${JSON.stringify(result.content).slice(0, 200)}`
        : `${matches?.length} matches`
    )
  } catch (error) {
    check("mcp", false, `failed: ${String(error).slice(0, 200)}`)
  } finally {
    await client.close().catch(() => undefined)
  }
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

  if (mcp) await checkMcp(base, check)

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
