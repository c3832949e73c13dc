// npm run bench:auth: authenticated requests per second, ours against a bare node:http + pg baseline,
// side by side in one run (SPEC section 8). See bench/README.md, section "auth".
//
// Env (all optional): BENCH_DATABASE_URL (a loopback Postgres; default postgres://postgres@127.0.0.1:5432/postgres),
// BENCH_CONNECTIONS (50), BENCH_KEYS (100), BENCH_WARMUP_SECONDS (3), BENCH_SECONDS (10), BENCH_ROUNDS (2),
// BENCH_CPU_PROF (a directory: both servers run with --cpu-prof and write <name>.cpuprofile there on exit),
// BENCH_RESULT_FILE (a file: the figures as JSON, bench/lib/report.ts; `npm run bench` sets it).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { cpus } from "node:os"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"
import { adminUrl, createScratchDatabase, dropOrphans, queryOnce } from "../lib/database.js"
import { intEnv, makeLifecycle } from "../lib/lifecycle.js"
import type { LoadResult } from "../lib/load.js"
import { runLoad } from "../lib/load.js"
import type { Server } from "../lib/processes.js"
import {
  cpuSeconds,
  ensureBuilt,
  freePort,
  HOST,
  loadAverage,
  machineCpu,
  peakRssMiB,
  startServer,
  waitReady
} from "../lib/processes.js"
import { atLeast, atMost, figure, peakRss, writeReport } from "../lib/report.js"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const TIME_LIMIT_MS = 170_000

const CONNECTIONS = intEnv("BENCH_CONNECTIONS", 50)
const KEYS = intEnv("BENCH_KEYS", 100)
const WARMUP_SECONDS = intEnv("BENCH_WARMUP_SECONDS", 3)
const SECONDS = intEnv("BENCH_SECONDS", 10)
const ROUNDS = intEnv("BENCH_ROUNDS", 2)
const POOL_SIZE = 10
const INTERNAL_API_KEY = "bench-internal-key-0123456789abcdef"
const ROUTE = "/api/v1/me"
// SPEC section 8; the ratio is the binding bar.
const SPEC = { requests: 5_000, p99Ms: 25, ratio: 0.8 } as const
// As production runs ours (scripts/start.sh, the Dockerfile's CMD); the baseline gets the same flags.
const NODE_FLAGS = ["--enable-source-maps", "--max-semi-space-size=64"]

// Nothing more is printed once an abort has begun (a load run may still be finishing).
const { cleanup, log, onCleanup, stopWatchdog, warn } = makeLifecycle(TIME_LIMIT_MS)

// ---------------------------------------------------------------------------------------------------
// Teardown: runs once, on success, failure, Ctrl-C, SIGTERM or the time limit.
// ---------------------------------------------------------------------------------------------------

const servers: Array<Server> = []

// ---------------------------------------------------------------------------------------------------

/** The baseline as plain JavaScript, so its process runs `node` alone, with no TypeScript loader. */
const compileBaseline = () => {
  const source = readFileSync(join(ROOT, "bench/auth/baseline.ts"), "utf8")
  const output = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    fileName: "baseline.ts"
  })
  // Under node_modules so that `pg` resolves from the project's own node_modules.
  const dir = join(ROOT, "node_modules/.cache/kotadb-bench")
  mkdirSync(dir, { recursive: true })
  const file = join(dir, "auth-baseline.mjs")
  writeFileSync(file, output.outputText)
  return file
}

/** With BENCH_CPU_PROF=<dir>, each server writes <dir>/<name>.cpuprofile when it exits. */
const profileArgs = (name: string) => {
  const dir = process.env.BENCH_CPU_PROF
  return dir === undefined || dir === ""
    ? []
    : ["--cpu-prof", `--cpu-prof-dir=${resolve(dir)}`, `--cpu-prof-name=${name}.cpuprofile`]
}

const createKeys = async (server: Server) => {
  const keys: Array<string> = new Array(KEYS)
  let next = 0
  const worker = async () => {
    for (let i = next++; i < KEYS; i = next++) {
      const response = await fetch(`http://${HOST}:${server.port}/internal/api-keys`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-internal-key": INTERNAL_API_KEY },
        body: JSON.stringify({ user_email: `bench-${i}@example.test`, rate_limit: 100_000, monthly_quota: 1e12 })
      })
      const body = await response.text()
      if (response.status !== 201) throw new Error(`creating key ${i}: ${response.status} ${body}`)
      keys[i] = (JSON.parse(body) as { api_key: string }).api_key
    }
  }
  await Promise.all(Array.from({ length: 10 }, worker))
  return keys
}

/** One request to each server with the same key: same status, same body shape, same headers. */
const compareResponses = async (targets: ReadonlyArray<Server>, key: string) => {
  const seen = await Promise.all(targets.map(async (server) => {
    const response = await fetch(`http://${HOST}:${server.port}${ROUTE}`, {
      headers: { "x-api-key": key, "user-agent": `kotadb-bench-${server.name}` }
    })
    const body = await response.json() as Record<string, unknown>
    return {
      status: response.status,
      headers: [...response.headers.keys()].sort().join(","),
      body: Object.keys(body).sort().join(",")
    }
  }))
  const [first, ...rest] = seen
  for (const [i, other] of rest.entries()) {
    if (JSON.stringify(other) !== JSON.stringify(first)) {
      throw new Error(
        `${targets[i + 1]!.name} answers unlike ${targets[0]!.name}: ${JSON.stringify(other)} vs ${
          JSON.stringify(first)
        }`
      )
    }
  }
  if (first!.status !== 200) throw new Error(`${ROUTE} answered ${first!.status}`)
  return first!
}

interface Measured extends LoadResult {
  readonly server: string
  readonly round: number
  readonly cpuPercent: number
}

const fmt = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : "-")
const table = (rows: ReadonlyArray<ReadonlyArray<string>>) => {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)))
  for (const row of rows) {
    log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "))
  }
}

const main = async () => {
  const started = Date.now()
  const admin = adminUrl()
  if (ensureBuilt(ROOT)) warn(`built in ${((Date.now() - started) / 1000).toFixed(1)} s`)

  for (const stale of await dropOrphans(admin, "kotadb_bench_auth")) warn(`dropped ${stale}, left by a killed run`)
  const db = await createScratchDatabase(admin, "kotadb_bench_auth")
  onCleanup(db.drop)

  const oursPort = await freePort()
  const ours = startServer("ours", [...profileArgs("ours"), ...NODE_FLAGS, "dist/src/main.js"], {
    cwd: ROOT,
    port: oursPort,
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: db.url,
      DATABASE_MAX_CONNECTIONS: String(POOL_SIZE),
      PORT: String(oursPort),
      HOST,
      KOTADB_WEBHOOK_BASE_URL: `http://${HOST}`,
      SECRETS_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString("base64"),
      INTERNAL_API_KEY,
      LOG_LEVEL: "warning"
    }
  })
  servers.push(ours)
  onCleanup(() => ours.stop())
  await waitReady(ours, "/health/live", 30_000)
  const keys = await createKeys(ours)

  const baselinePort = await freePort()
  const baseline = startServer("baseline", [...profileArgs("baseline"), ...NODE_FLAGS, compileBaseline()], {
    cwd: ROOT,
    port: baselinePort,
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: db.url,
      DATABASE_MAX_CONNECTIONS: String(POOL_SIZE),
      PORT: String(baselinePort),
      HOST
    }
  })
  servers.push(baseline)
  onCleanup(() => baseline.stop())
  await waitReady(baseline, "/health/live", 15_000)
  const shape = await compareResponses(servers, keys[0]!)
  const pgVersion =
    (await queryOnce<{ v: string }>(db.url, "SELECT 'PostgreSQL ' || current_setting('server_version') AS v"))[0]!.v

  log(
    `auth bench: GET ${ROUTE}, ${KEYS} keys round-robin per request, ${CONNECTIONS} keep-alive connections, `
      + `${ROUNDS} rounds of ${WARMUP_SECONDS} s warm-up + ${SECONDS} s measured per server, alternating`
  )
  log(`both answer 200 with headers ${shape.headers}`)
  log(
    `machine: ${cpus().length} cores, Node ${process.versions.node}, ${pgVersion}; 1-min load average ${
      fmt(loadAverage(), 2)
    }`
  )

  let next = 0
  const counted = new Map<string, number>(servers.map((s) => [s.name, 1]))
  const load = (server: Server, seconds: number) =>
    runLoad({
      url: `http://${HOST}:${server.port}${ROUTE}`,
      connections: CONNECTIONS,
      seconds,
      headers: () => ({ "x-api-key": keys[next++ % KEYS]!, "user-agent": `kotadb-bench-${server.name}` })
    }).then((result) => {
      counted.set(server.name, counted.get(server.name)! + result.ok + result.non2xx)
      return result
    })

  const runs: Array<Measured> = []
  const warmups: Array<LoadResult & { readonly server: string }> = []
  for (let round = 1; round <= ROUNDS; round++) {
    for (const server of servers) {
      warmups.push({ server: server.name, ...await load(server, WARMUP_SECONDS) })
      const cpuBefore = cpuSeconds(server.pid)
      const machineBefore = machineCpu()
      const result = await load(server, SECONDS)
      const cpuPercent = (100 * (cpuSeconds(server.pid) - cpuBefore)) / result.seconds
      const machine = machineCpu()
      const machinePercent = (100 * (machine.busy - machineBefore.busy)) / (machine.total - machineBefore.total)
      const cpuMsPerRequest = (10 * cpuPercent) / result.reqPerSec
      runs.push({ server: server.name, round, cpuPercent, ...result })
      log(
        `round ${round} ${server.name.padEnd(8)} ${fmt(result.reqPerSec, 0).padStart(6)} req/s  `
          + `p50 ${fmt(result.p50Ms, 2)} ms  p99 ${fmt(result.p99Ms, 2)} ms  non-2xx ${result.non2xx}  `
          + `errors ${result.errors}  server CPU ${fmt(cpuPercent, 0)} % (${fmt(cpuMsPerRequest, 2)} ms/req)  `
          + `machine busy ${fmt(machinePercent, 0)} %  load ${fmt(loadAverage(), 2)}`
      )
    }
  }

  const peak = new Map(servers.map((s) => [s.name, peakRssMiB(s.pid)]))
  // Stopping flushes our buffered audit rows; then every counted response must have its row.
  await Promise.all(servers.map((s) => s.stop()))
  const audit = await queryOnce<{ user_agent: string; n: string }>(
    db.url,
    "SELECT user_agent, count(*)::text AS n FROM api_key_usage GROUP BY user_agent"
  )
  const auditRows = (name: string) =>
    audit.filter((row) => row.user_agent === `kotadb-bench-${name}`).reduce((sum, row) => sum + Number(row.n), 0)

  const best = (name: string) =>
    runs.filter((r) => r.server === name).reduce((a, b) => (b.reqPerSec > a.reqPerSec ? b : a))
  const bestOurs = best("ours")
  const bestBaseline = best("baseline")
  const problems: Array<string> = []
  const rows = [["server", "req/s", "p50 ms", "p99 ms", "non-2xx", "errors", "CPU %", "peak RSS MiB", "audit rows"]]
  for (const [name, b] of [["ours", bestOurs], ["baseline", bestBaseline]] as const) {
    const all = [...runs, ...warmups].filter((r) => r.server === name)
    const non2xx = all.reduce((sum, r) => sum + r.non2xx, 0)
    const errors = all.reduce((sum, r) => sum + r.errors + r.timeouts, 0)
    // Requests still in flight when a load run ends are answered and audited but not counted, so the
    // audit may hold a few rows more than were counted, never fewer.
    const rowsWritten = auditRows(name)
    if (non2xx > 0) {
      const codes = all.flatMap((r) => Object.entries(r.statusCodes)).filter(([code]) => !code.startsWith("2"))
      problems.push(`${name}: ${non2xx} non-2xx responses (${codes.map(([c, n]) => `${c}×${n}`).join(", ")})`)
    }
    if (errors > 0) problems.push(`${name}: ${errors} connection errors or timeouts`)
    if (rowsWritten < counted.get(name)!) {
      problems.push(`${name}: ${rowsWritten} audit rows for ${counted.get(name)} responses`)
    }
    rows.push([
      name,
      fmt(b.reqPerSec, 0),
      fmt(b.p50Ms, 2),
      fmt(b.p99Ms, 2),
      String(non2xx),
      String(errors),
      fmt(b.cpuPercent, 0),
      fmt(peak.get(name)!, 1),
      String(rowsWritten)
    ])
  }
  log(`best run of each (non-2xx and errors summed over all ${ROUNDS * 2} runs of each, warm-ups included):`)
  table(rows)
  await cleanup()
  log(`total time ${((Date.now() - started) / 1000).toFixed(0)} s`)
  for (const problem of problems) log(`PROBLEM: ${problem}`)
  const bestOf = `best of ${ROUNDS} round(s) of ${SECONDS} s, ${CONNECTIONS} connections, GET ${ROUTE}`
  writeReport({
    bench: "auth",
    baseline: "bare node:http + pg, one round trip (bench/auth/baseline.ts)",
    figures: [
      figure("req/s, ratio ours/baseline", "req/s", bestOurs.reqPerSec, bestBaseline.reqPerSec, {
        bar: atLeast(SPEC.ratio, "ratio"),
        notes: `the binding bar; ${bestOf}`
      }),
      figure("req/s", "req/s", bestOurs.reqPerSec, bestBaseline.reqPerSec, { bar: atLeast(SPEC.requests) }),
      figure("p99 latency", "ms", bestOurs.p99Ms, bestBaseline.p99Ms, {
        bar: atMost(SPEC.p99Ms),
        notes: "exact, over every 2xx of the best run"
      })
    ],
    peakRssMiB: peakRss(peak.get("ours"), peak.get("baseline"), "VmHWM of each server process, read before it stops"),
    problems
  })
  log(`auth req/s ratio ours/baseline: ${(bestOurs.reqPerSec / bestBaseline.reqPerSec).toFixed(2)}`)
  return problems.length === 0 ? 0 : 1
}

main().then(
  (code) => {
    stopWatchdog()
    process.exit(code)
  },
  async (error: unknown) => {
    stopWatchdog()
    warn(`bench:auth failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
    for (const server of servers) warn(`--- last output of ${server.name} ---\n${server.output()}`)
    await cleanup()
    process.exit(1)
  }
)
