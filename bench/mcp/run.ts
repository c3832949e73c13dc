// npm run bench:mcp: `tools/call search_code` over MCP (POST /mcp) against the same search through
// GET /api/v1/search/code, on one server, side by side in one run. See bench/README.md, section "mcp".
//
// Env (all optional): BENCH_DATABASE_URL (a loopback Postgres; default postgres://postgres@127.0.0.1:5432/postgres),
// BENCH_CONNECTIONS (4), BENCH_FILES (400), BENCH_WARMUP_SECONDS (3), BENCH_SECONDS (10), BENCH_ROUNDS (2),
// BENCH_RESULT_FILE (a file: the figures as JSON, bench/lib/report.ts; `npm run bench` sets it).
import { cpus } from "node:os"
import { fileURLToPath } from "node:url"
import { adminUrl, createScratchDatabase, dropOrphans, queryOnce } from "../lib/database.js"
import { intEnv, makeLifecycle } from "../lib/lifecycle.js"
import type { LoadResult } from "../lib/load.js"
import { runAutocannon } from "../lib/load.js"
import type { OurServer } from "../lib/ourServer.js"
import { startOurServer } from "../lib/ourServer.js"
import type { Server } from "../lib/processes.js"
import { cpuSeconds, ensureBuilt, HOST, loadAverage, peakRssMiB } from "../lib/processes.js"
import { atLeast, figure, peakRss, writeReport } from "../lib/report.js"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const TIME_LIMIT_MS = 170_000

// One more than the search pool's connections (SEARCH_MAX_CONNECTIONS, 3): enough to keep it busy; more
// would only queue for its connections and measure the wait.
const CONNECTIONS = intEnv("BENCH_CONNECTIONS", 4)
const FILES = intEnv("BENCH_FILES", 400)
const WARMUP_SECONDS = intEnv("BENCH_WARMUP_SECONDS", 3)
const SECONDS = intEnv("BENCH_SECONDS", 10)
const ROUNDS = intEnv("BENCH_ROUNDS", 2)
const NEEDLE = "kotadb_mcp_needle"
const LIMIT = 20
const RATIO = 0.7

const { cleanup, log, onCleanup, stopWatchdog, warn } = makeLifecycle(TIME_LIMIT_MS)
let server: Server | undefined

const restPath = `/api/v1/search/code?q=${NEEDLE}&limit=${LIMIT}`
const mcpBody = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "tools/call",
  params: { name: "search_code", arguments: { query: NEEDLE, limit: LIMIT } }
})
const MCP_HEADERS = { "accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25" }
const mcpHeaders = (key: string) => ({ "x-api-key": key, "content-type": "application/json", ...MCP_HEADERS })

/** One request that must succeed: its JSON body. */
const ok = async (ours: OurServer, path: string, init: Parameters<OurServer["call"]>[1] = {}) => {
  const { body, status } = await ours.call<Record<string, unknown>>(path, init)
  if (status >= 300) throw new Error(`${init.method ?? "GET"} ${path}: ${status} ${JSON.stringify(body)}`)
  return body
}

/** A repository of FILES files, one in ten holding the needle on two lines, straight into the index. */
const seed = async (ours: OurServer, key: string, dbUrl: string) => {
  const registered = await ok(ours, "/api/v1/repositories", {
    method: "POST",
    key,
    body: JSON.stringify({ git_url: "https://github.com/bench/corpus" })
  })
  // Each file is one chunk of indexed_chunks (60 short lines fit in one), as the indexer would write it.
  await queryOnce(
    dbUrl,
    `WITH files AS (
       SELECT 'src/file' || lpad(i::text, 5, '0') || '.ts' AS path, i,
              string_agg(CASE WHEN i % 10 = 0 AND l IN (7, 31) THEN 'export const ${NEEDLE} = ' || l
                              ELSE 'const value_' || i || '_' || l || ' = compute(' || l || ') // filler text' END,
                         E'\\n' ORDER BY l) || E'\\n' AS content
       FROM generate_series(1, $2::int) AS i, generate_series(1, 60) AS l GROUP BY i
     ), written AS (
       INSERT INTO indexed_files (repository_id, path, blob_sha, language, size_bytes, line_count)
       SELECT $1, path, md5(i::text) || '00000000', 'TypeScript', length(content), 60 FROM files
     )
     INSERT INTO indexed_chunks (repository_id, path, chunk_no, start_line, language, content, folded)
     SELECT $1, path, 0, 1, 'TypeScript', content, lower(content) FROM files`,
    [registered.repository_id, FILES]
  )
}

const main = async () => {
  const started = Date.now()
  const admin = adminUrl()
  if (ensureBuilt(ROOT)) warn(`built in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  for (const stale of await dropOrphans(admin, "kotadb_bench_mcp")) warn(`dropped ${stale}, left by a killed run`)
  const db = await createScratchDatabase(admin, "kotadb_bench_mcp")
  onCleanup(db.drop)

  const api = await startOurServer({
    root: ROOT,
    databaseUrl: db.url,
    readyTimeoutMs: 30_000,
    env: {
      WORKER_ENABLED: "false",
      // One key drives every connection: the per-user bound on searches in flight would answer most of
      // them 429 instead of searching. Twice the connections, because the requests a round's end cuts off
      // may still hold their place when the next round's arrive.
      SEARCH_MAX_IN_FLIGHT_PER_USER: String(2 * CONNECTIONS)
    }
  })
  server = api.server
  const ours = server
  onCleanup(() => ours.stop())
  const port = ours.port
  const key = await api.createKey("bench-mcp@example.test")
  await seed(api, key, db.url)

  // Both answer the same page.
  const rest = await ok(api, restPath, { key })
  const mcp = await ok(api, "/mcp", { method: "POST", key, headers: MCP_HEADERS, body: mcpBody })
  const structured = (mcp.result as { structuredContent?: unknown } | undefined)?.structuredContent
  if (JSON.stringify(structured) !== JSON.stringify(rest)) {
    throw new Error(`MCP and REST answer differently: ${JSON.stringify(mcp).slice(0, 300)}`)
  }
  const matches = (rest.matches as Array<unknown>).length

  log(
    `mcp bench: search_code "${NEEDLE}" (${matches} matches a page, ${FILES} files, one in ten matching), ` +
      `${CONNECTIONS} keep-alive connections, ${ROUNDS} rounds of ${WARMUP_SECONDS} s warm-up + ${SECONDS} s ` +
      "measured per route, alternating, one server"
  )
  log(`machine: ${cpus().length} cores, Node ${process.versions.node}; 1-min load average ${loadAverage().toFixed(2)}`)

  const load = (name: "rest" | "mcp", seconds: number) =>
    runAutocannon({
      url: name === "rest" ? `http://${HOST}:${port}${restPath}` : `http://${HOST}:${port}/mcp`,
      connections: CONNECTIONS,
      seconds,
      requests: name === "rest"
        ? [{ method: "GET", headers: { "x-api-key": key } }]
        : [{ method: "POST", headers: mcpHeaders(key), body: mcpBody }],
      // A failing tool is a 200 whose result says isError: a failure, like REST's 4xx and 5xx.
      ...(name === "mcp" ? { rejectBody: (body: string) => !body.includes("\"structuredContent\"") } : {})
    })

  const runs: Array<LoadResult & { readonly route: string; readonly cpuPercent: number }> = []
  const problems: Array<string> = []
  for (let round = 1; round <= ROUNDS; round++) {
    for (const route of ["rest", "mcp"] as const) {
      const warm = await load(route, WARMUP_SECONDS)
      const cpuBefore = cpuSeconds(ours.pid)
      const result = await load(route, SECONDS)
      const cpuPercent = (100 * (cpuSeconds(ours.pid) - cpuBefore)) / result.seconds
      runs.push({ route, cpuPercent, ...result })
      const bad = warm.non2xx + warm.errors + warm.rejected + result.non2xx + result.errors + result.timeouts +
        result.rejected
      if (bad > 0) {
        const codes = [...Object.entries(warm.statusCodes), ...Object.entries(result.statusCodes)]
          .filter(([c]) => !c.startsWith("2"))
        problems.push(
          `${route} round ${round}: ${bad} failures (status ${
            codes.map(([c, n]) => `${c}×${n}`).join(", ") || "none"
          }, ` +
            `tool errors ${warm.rejected + result.rejected}, socket errors ${warm.errors + result.errors})`
        )
      }
      log(
        `round ${round} ${route.padEnd(4)} ${result.reqPerSec.toFixed(0).padStart(6)} req/s  ` +
          `p50 ${result.p50Ms.toFixed(2)} ms  p99 ${
            result.p99Ms.toFixed(2)
          } ms  non-2xx ${result.non2xx}  tool errors ${result.rejected}  ` +
          `server CPU ${cpuPercent.toFixed(0)} % (${((10 * cpuPercent) / result.reqPerSec).toFixed(2)} ms/req)  ` +
          `load ${loadAverage().toFixed(2)}`
      )
    }
  }
  const peak = peakRssMiB(ours.pid)
  const best = (route: string) =>
    runs.filter((r) => r.route === route).reduce((a, b) => (b.reqPerSec > a.reqPerSec ? b : a))
  const bestMcp = best("mcp")
  const bestRest = best("rest")
  await cleanup()
  const ratio = bestMcp.reqPerSec / bestRest.reqPerSec
  if (ratio < RATIO) problems.push(`ratio ${ratio.toFixed(2)} below ${RATIO}`)
  for (const problem of problems) log(`PROBLEM: ${problem}`)
  writeReport({
    bench: "mcp",
    baseline: "the same search through GET /api/v1/search/code on the same server",
    figures: [
      figure("search req/s, ratio MCP/REST", "req/s", bestMcp.reqPerSec, bestRest.reqPerSec, {
        bar: atLeast(RATIO, "ratio"),
        notes: `best of ${ROUNDS} round(s) of ${SECONDS} s, ${CONNECTIONS} connections, ${matches} matches a page`
      }),
      figure("search p99 latency", "ms", bestMcp.p99Ms, bestRest.p99Ms, { notes: "over every 2xx of the best run" })
    ],
    peakRssMiB: peakRss(peak, undefined, "VmHWM of the one server (both routes), read before it stops"),
    problems
  })
  log(
    `mcp search req/s ratio MCP/REST: ${ratio.toFixed(2)}; total time ${((Date.now() - started) / 1000).toFixed(0)} s`
  )
  return problems.length === 0 ? 0 : 1
}

main().then(
  (code) => {
    stopWatchdog()
    process.exit(code)
  },
  async (error: unknown) => {
    stopWatchdog()
    warn(`bench:mcp failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
    if (server !== undefined) warn(`--- last output of the server ---\n${server.output()}`)
    await cleanup()
    process.exit(1)
  }
)
