// npm run bench:webhooks: signed GitHub push deliveries accepted per second, new and duplicate, ours
// against a bare node:http + pg baseline, side by side in one run (SPEC section 8). See bench/README.md,
// section "webhooks".
//
// Env (all optional): BENCH_DATABASE_URL (a loopback Postgres; default postgres://postgres@127.0.0.1:5432/postgres),
// BENCH_CONNECTIONS (50), BENCH_REPOSITORIES (20), BENCH_WARMUP_SECONDS (3), BENCH_SECONDS (10),
// BENCH_ROUNDS (2), BENCH_CPU_PROF (a directory: both servers run with --cpu-prof and write
// <name>.cpuprofile there on exit), BENCH_RESULT_FILE (a file: the figures as JSON, bench/lib/report.ts;
// `npm run bench` sets it).
import { randomUUID } from "node:crypto"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { cpus, tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { compileBaseline } from "../lib/compileBaseline.js"
import { adminUrl, createScratchDatabase, dropOrphans, queryOnce } from "../lib/database.js"
import { intEnv, makeLifecycle } from "../lib/lifecycle.js"
import type { LoadResult } from "../lib/load.js"
import { productionNodeFlags, profileArgs } from "../lib/node.js"
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
import { runMain } from "../lib/runMain.js"
import { fmt } from "../lib/table.js"
import type { Shot } from "./load.js"
import { runPostLoad } from "./load.js"
import type { SignedBody } from "./payload.js"
import { deliveryHeaders, pushBody, sign, TARGET_BYTES } from "./payload.js"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const TIME_LIMIT_MS = 170_000
const PREFIX = "kotadb_bench_webhooks"

const CONNECTIONS = intEnv("BENCH_CONNECTIONS", 50)
const REPOSITORIES = intEnv("BENCH_REPOSITORIES", 20)
const WARMUP_SECONDS = intEnv("BENCH_WARMUP_SECONDS", 3)
const SECONDS = intEnv("BENCH_SECONDS", 10)
const ROUNDS = intEnv("BENCH_ROUNDS", 2)
const POOL_SIZE = 10
const INTERNAL_API_KEY = "bench-internal-key-0123456789abcdef"
const ROUTE = "/webhooks/github"
// As production runs ours (scripts/start.sh, the Dockerfile's CMD); the baseline gets the same flags.
const NODE_FLAGS = productionNodeFlags(ROOT)
// SPEC section 8.
const SPEC = { deliveries: 2_500, p99Ms: 50, ratio: 0.8, duplicates: 10_000 } as const

// Nothing more is printed once an abort has begun (a load run may still be finishing).
const lifecycle = makeLifecycle(TIME_LIMIT_MS)
const { cleanup, log, onCleanup, table, warn } = lifecycle

const servers: Array<Server> = []

const post = async (server: Server, path: string, headers: Record<string, string>, body: string | Buffer) => {
  const response = await fetch(`http://${HOST}:${server.port}${path}`, { method: "POST", headers, body })
  return { status: response.status, headers: response.headers, text: await response.text() }
}

interface Repository {
  readonly id: string
  readonly secret: string
  readonly hookId: number
  readonly signed: SignedBody
}

/** One API key, then the repositories, registered through our API; returns each one's signed push body. */
const register = async (server: Server) => {
  const key = await post(server, "/internal/api-keys", {
    "content-type": "application/json",
    "x-internal-key": INTERNAL_API_KEY
  }, JSON.stringify({ user_email: "bench-webhooks@example.test", rate_limit: 100_000, monthly_quota: 1e12 }))
  if (key.status !== 201) throw new Error(`creating the API key: ${key.status} ${key.text}`)
  const apiKey = (JSON.parse(key.text) as { api_key: string }).api_key
  const repositories: Array<Repository> = new Array(REPOSITORIES)
  let next = 0
  const worker = async () => {
    for (let i = next++; i < REPOSITORIES; i = next++) {
      const gitUrl = `https://github.com/bench/repo-${i}.git`
      const created = await post(server, "/api/v1/repositories", {
        "content-type": "application/json",
        "x-api-key": apiKey
      }, JSON.stringify({ git_url: gitUrl, branch: "main" }))
      if (created.status !== 201) throw new Error(`registering ${gitUrl}: ${created.status} ${created.text}`)
      const body = JSON.parse(created.text) as { repository_id: string; webhook: { secret?: string } }
      if (body.webhook.secret === undefined) {
        throw new Error(`registering ${gitUrl}: no webhook secret in ${created.text}`)
      }
      repositories[i] = {
        id: body.repository_id,
        secret: body.webhook.secret,
        hookId: 1_000 + i,
        signed: sign(pushBody(i), body.webhook.secret)
      }
    }
  }
  await Promise.all(Array.from({ length: 5 }, worker))
  return repositories
}

// ---------------------------------------------------------------------------------------------------
// What each server was sent and answered, for the checks during and after the load.
// ---------------------------------------------------------------------------------------------------

interface Accepted {
  readonly repository: number
  readonly deliveryId: string
  readonly jobId: string
}

interface Tally {
  /** Delivery ids sent as new deliveries (answered or still in flight when a run ended). */
  readonly sent: Set<string>
  /** Every 202 queued, with its job: the deliveries the duplicate runs replay. */
  readonly accepted: Array<Accepted>
  /** 2xx responses other than the expected one, and the first few of every unexpected response. */
  unexpected: number
  readonly examples: Array<string>
  replayNext: number
}

const tallies = new Map<string, Tally>()

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

const describe = (repository: Repository, deliveryId: string, status: number, body: string) =>
  `POST ${ROUTE}/${repository.id} (X-GitHub-Delivery ${deliveryId}, ${repository.signed.body.length} bytes) -> ${status} ${
    body.slice(0, 300)
  }`

const unexpected = (tally: Tally, status: number, what: () => string) => {
  // Non-2xx are counted by autocannon already; a 2xx of the wrong kind is counted here.
  if (status >= 200 && status <= 299) tally.unexpected++
  if (tally.examples.length < 5) tally.examples.push(what())
}

type Phase = "new" | "duplicate"

const parse = (body: string): { status?: unknown; job_id?: unknown } => {
  try {
    return JSON.parse(body) as { status?: unknown; job_id?: unknown }
  } catch {
    return {}
  }
}

interface Sent {
  readonly repository: number
  readonly deliveryId: string
}

/** New deliveries: a fresh X-GitHub-Delivery per request, repositories round-robin. */
const newDeliveries = (server: Server, repositories: ReadonlyArray<Repository>) => {
  const tally = tallies.get(server.name)!
  let next = 0
  return {
    next: (): Shot<Sent> => {
      const index = next++ % REPOSITORIES
      const repository = repositories[index]!
      const deliveryId = randomUUID()
      tally.sent.add(deliveryId)
      return {
        path: `${ROUTE}/${repository.id}`,
        headers: deliveryHeaders(repository.signed, deliveryId, repository.hookId),
        body: repository.signed.body,
        tag: { repository: index, deliveryId }
      }
    },
    check: (tag: Sent, status: number, body: string) => {
      const parsed = status === 202 ? parse(body) : {}
      if (
        status === 202 && parsed.status === "queued" && typeof parsed.job_id === "string" && UUID.test(parsed.job_id)
      ) {
        tally.accepted.push({ repository: tag.repository, deliveryId: tag.deliveryId, jobId: parsed.job_id })
      } else {
        unexpected(tally, status, () => describe(repositories[tag.repository]!, tag.deliveryId, status, body))
      }
    }
  }
}

/** Copies: the deliveries this server accepted so far, replayed in order (same repository, same body). */
const duplicates = (server: Server, repositories: ReadonlyArray<Repository>) => {
  const tally = tallies.get(server.name)!
  return {
    next: (): Shot<Accepted> => {
      const replay = tally.accepted[tally.replayNext++ % tally.accepted.length]!
      const repository = repositories[replay.repository]!
      return {
        path: `${ROUTE}/${repository.id}`,
        headers: deliveryHeaders(repository.signed, replay.deliveryId, repository.hookId),
        body: repository.signed.body,
        tag: replay
      }
    },
    check: (tag: Accepted, status: number, body: string) => {
      const parsed = status === 200 ? parse(body) : {}
      if (status !== 200 || parsed.status !== "duplicate" || parsed.job_id !== tag.jobId) {
        unexpected(
          tally,
          status,
          () =>
            `${describe(repositories[tag.repository]!, tag.deliveryId, status, body)} (first answer: job ${tag.jobId})`
        )
      }
    }
  }
}

/** The same first delivery, its copy and a bad signature to each server: same statuses, body keys, headers. */
const compareResponses = async (targets: ReadonlyArray<Server>, repository: Repository) => {
  const seen = await Promise.all(targets.map(async (server) => {
    const tally = tallies.get(server.name)!
    const deliveryId = randomUUID()
    tally.sent.add(deliveryId)
    const headers = deliveryHeaders(repository.signed, deliveryId, repository.hookId)
    const path = `${ROUTE}/${repository.id}`
    const first = await post(server, path, headers, repository.signed.body)
    const again = await post(server, path, headers, repository.signed.body)
    const forged = await post(server, path, { ...headers, "x-github-delivery": randomUUID() }, pushBody(1))
    const firstBody = JSON.parse(first.text) as { status: string; job_id: string }
    const againBody = JSON.parse(again.text) as { status: string; job_id: string }
    if (first.status !== 202 || firstBody.status !== "queued" || !UUID.test(firstBody.job_id)) {
      throw new Error(`${server.name}: a new delivery: ${describe(repository, deliveryId, first.status, first.text)}`)
    }
    if (again.status !== 200 || againBody.status !== "duplicate" || againBody.job_id !== firstBody.job_id) {
      throw new Error(`${server.name}: its copy: ${describe(repository, deliveryId, again.status, again.text)}`)
    }
    tally.accepted.push({ repository: 0, deliveryId, jobId: firstBody.job_id })
    return [first, again, forged].map((r) => ({
      status: r.status,
      headers: [...r.headers.keys()].sort().join(","),
      body: Object.keys(JSON.parse(r.text) as object).sort().join(",")
    }))
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
  if (first![2]!.status !== 401) throw new Error(`a forged signature answered ${first![2]!.status}`)
  return first!
}

interface DeliveryRow {
  readonly id: string
  readonly delivery_id: string
  readonly status: string
  readonly job_id: string | null
  readonly job_type: string | null
  readonly job_delivery: string | null
  readonly linked: boolean | null
  readonly raw_matches: boolean
}

/**
 * Every accepted delivery is stored, queued, with exactly one webhook_update job of its own, and with
 * the exact bytes its repository's body was sent with.
 */
const checkDeliveries = async (url: string, repositories: ReadonlyArray<Repository>) => {
  const problems: Array<string> = []
  const rows = await queryOnce<DeliveryRow>(
    url,
    `SELECT d.id::text, d.delivery_id, d.status, d.job_id::text, j.job_type, j.payload->>'delivery_id' AS job_delivery,
            (j.payload->>'webhook_delivery_id')::bigint = d.id AS linked,
            coalesce(d.payload_raw = b.body, false) AS raw_matches
     FROM webhook_deliveries d LEFT JOIN indexing_jobs j ON j.id = d.job_id
     LEFT JOIN unnest($1::uuid[], $2::bytea[]) AS b (repository_id, body) ON b.repository_id = d.repository_id`,
    [repositories.map((r) => r.id), repositories.map((r) => r.signed.body)]
  )
  const [jobs] = await queryOnce<{ n: string; distinct_deliveries: string }>(
    url,
    `SELECT count(*)::text AS n, count(DISTINCT payload->>'delivery_id')::text AS distinct_deliveries
     FROM indexing_jobs WHERE job_type = 'webhook_update'`
  )
  const byDelivery = new Map(rows.map((row) => [row.delivery_id, row]))
  const jobIds = new Set(rows.map((row) => row.job_id))
  const summary: Array<string> = []
  let owned = 0
  for (const [name, tally] of tallies) {
    const mine = rows.filter((row) => tally.sent.has(row.delivery_id))
    owned += mine.length
    const bad = mine.filter((row) =>
      row.status !== "queued" || row.job_id === null || row.job_type !== "webhook_update" ||
      row.job_delivery !== row.delivery_id || row.linked !== true || !row.raw_matches
    )
    const missing = tally.accepted.filter((a) => byDelivery.get(a.deliveryId)?.job_id !== a.jobId)
    if (bad.length > 0) {
      problems.push(`${name}: ${bad.length} deliveries not queued with their own job, e.g. ${JSON.stringify(bad[0])}`)
    }
    if (missing.length > 0) {
      problems.push(`${name}: ${missing.length} accepted deliveries missing or with another job than answered`)
    }
    summary.push(
      `${name}: ${tally.accepted.length} accepted (202), ${mine.length} stored (${
        mine.length - tally.accepted.length
      } were in flight when a run ended)`
    )
  }
  if (owned !== rows.length) problems.push(`${rows.length - owned} stored deliveries that no server was sent`)
  const queued = rows.filter((row) => row.status === "queued").length
  if (Number(jobs!.n) !== queued || Number(jobs!.distinct_deliveries) !== queued || jobIds.size !== rows.length) {
    problems.push(
      `${jobs!.n} webhook_update jobs (${jobs!.distinct_deliveries} distinct deliveries) for ${queued} queued `
        + `deliveries out of ${rows.length}, ${jobIds.size} distinct job ids`
    )
  }
  summary.push(`${jobs!.n} webhook_update jobs for ${queued} queued deliveries`)
  return { problems, summary }
}

interface Measured extends LoadResult {
  readonly server: string
  readonly phase: Phase
  readonly round: number
  readonly cpuPercent: number
  /** CPU of the database's Postgres backends per 2xx response (only the loaded server's are busy). */
  readonly pgMsPerRequest: number
}

/** CPU seconds so far of the servers' backends on the scratch database (not autovacuum's), by pid. */
const backendCpu = async (url: string) => {
  const rows = await queryOnce<{ pid: number }>(
    url,
    `SELECT pid FROM pg_stat_activity
     WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`
  )
  const byPid = new Map<number, number>()
  for (const { pid } of rows) {
    try {
      byPid.set(pid, cpuSeconds(pid))
    } catch {
      // gone
    }
  }
  return byPid
}
const cpuSince = (before: Map<number, number>, after: Map<number, number>) =>
  [...after].reduce((sum, [pid, cpu]) => sum + cpu - (before.get(pid) ?? 0), 0)

const main = async () => {
  const started = Date.now()
  const admin = adminUrl()
  if (ensureBuilt(ROOT)) warn(`built in ${((Date.now() - started) / 1000).toFixed(1)} s`)

  for (const stale of await dropOrphans(admin, PREFIX)) warn(`dropped ${stale}, left by a killed run`)
  const db = await createScratchDatabase(admin, PREFIX)
  onCleanup(db.drop)
  const scratch = mkdtempSync(join(tmpdir(), "kotadb-bench-webhooks-"))
  onCleanup(async () => rmSync(scratch, { recursive: true, force: true }))

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
      // A free port rather than the default 9091, which another server on the machine may hold.
      METRICS_PORT: String(await freePort()),
      KOTADB_WEBHOOK_BASE_URL: `http://${HOST}`,
      SECRETS_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString("base64"),
      INTERNAL_API_KEY,
      LOG_LEVEL: "warning",
      // No handler for webhook_update jobs yet: this bench measures acceptance, not processing.
      WORKER_ENABLED: "false"
    }
  })
  servers.push(ours)
  onCleanup(() => ours.stop())
  await waitReady(ours, "/health/live", 30_000)
  const repositories = await register(ours)

  // The baseline gets the secrets in a file: the database holds them sealed.
  const secretsFile = join(scratch, "secrets.json")
  const registered = await queryOnce<{ id: string }>(db.url, "SELECT id::text FROM repositories")
  if (registered.length !== REPOSITORIES) throw new Error(`${registered.length} repositories stored`)
  const secrets = Object.fromEntries(repositories.map((r) => [r.id, r.secret]))
  writeFileSync(secretsFile, JSON.stringify(secrets), { mode: 0o600 })

  const baselinePort = await freePort()
  const baseline = startServer("baseline", [
    ...profileArgs("baseline"),
    ...NODE_FLAGS,
    compileBaseline(ROOT, "bench/webhooks/baseline.ts")
  ], {
    cwd: ROOT,
    port: baselinePort,
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: db.url,
      DATABASE_MAX_CONNECTIONS: String(POOL_SIZE),
      PORT: String(baselinePort),
      HOST,
      WEBHOOK_SECRETS: secretsFile
    }
  })
  servers.push(baseline)
  onCleanup(() => baseline.stop())
  await waitReady(baseline, "/health/live", 15_000)
  for (const server of servers) {
    tallies.set(server.name, { sent: new Set(), accepted: [], unexpected: 0, examples: [], replayNext: 0 })
  }
  const shape = await compareResponses(servers, repositories[0]!)
  const pgVersion =
    (await queryOnce<{ v: string }>(db.url, "SELECT 'PostgreSQL ' || current_setting('server_version') AS v"))[0]!.v

  log(
    `webhooks bench: POST ${ROUTE}/:repository_id, signed push deliveries of ${TARGET_BYTES} bytes, `
      + `${REPOSITORIES} repositories round-robin, a new X-GitHub-Delivery per request, ${CONNECTIONS} keep-alive `
      + `connections, ${ROUNDS} round(s) of ${WARMUP_SECONDS} s warm-up + ${SECONDS} s new + ${SECONDS} s duplicates `
      + `per server, alternating`
  )
  log(
    `both answer ${shape.map((s) => s.status).join(" / ")} (new / copy / forged) with headers ${shape[0]!.headers}`
  )
  log(
    `machine: ${cpus().length} cores, Node ${process.versions.node}, ${pgVersion}; 1-min load average ${
      fmt(loadAverage(), 2)
    }`
  )

  const load = (server: Server, phase: Phase, seconds: number) => {
    const options = { origin: `http://${HOST}:${server.port}`, connections: CONNECTIONS, seconds }
    return phase === "new"
      ? runPostLoad({ ...options, ...newDeliveries(server, repositories) })
      : runPostLoad({ ...options, ...duplicates(server, repositories) })
  }

  const runs: Array<Measured> = []
  const warmups: Array<LoadResult & { readonly server: string }> = []
  const measure = async (server: Server, phase: Phase, round: number) => {
    const pgBefore = await backendCpu(db.url)
    const cpuBefore = cpuSeconds(server.pid)
    const benchBefore = process.cpuUsage()
    const machineBefore = machineCpu()
    const result = await load(server, phase, SECONDS)
    const cpuPercent = (100 * (cpuSeconds(server.pid) - cpuBefore)) / result.seconds
    const benchUsage = process.cpuUsage(benchBefore)
    const benchPercent = (benchUsage.user + benchUsage.system) / (10_000 * result.seconds)
    const machine = machineCpu()
    const machinePercent = (100 * (machine.busy - machineBefore.busy)) / (machine.total - machineBefore.total)
    const pgMsPerRequest = (1000 * cpuSince(pgBefore, await backendCpu(db.url))) / result.ok
    const cpuMsPerRequest = (10 * cpuPercent) / result.reqPerSec
    runs.push({ server: server.name, phase, round, cpuPercent, pgMsPerRequest, ...result })
    log(
      `round ${round} ${server.name.padEnd(8)} ${phase.padEnd(9)} ${fmt(result.reqPerSec, 0).padStart(6)} req/s  `
        + `p50 ${fmt(result.p50Ms, 2)} ms  p99 ${fmt(result.p99Ms, 2)} ms  non-2xx ${result.non2xx}  `
        + `errors ${result.errors + result.timeouts}  server CPU ${fmt(cpuPercent, 0)} % (${
          fmt(cpuMsPerRequest, 2)
        } ms/req)  Postgres ${fmt(pgMsPerRequest, 2)} ms/req  load generator ${fmt(benchPercent, 0)} %  `
        + `machine busy ${fmt(machinePercent, 0)} %  load ${fmt(loadAverage(), 2)}`
    )
  }
  for (let round = 1; round <= ROUNDS; round++) {
    // The tables grow as the run goes on: each server goes first in every other round.
    for (const server of round % 2 === 1 ? servers : [...servers].reverse()) {
      warmups.push({ server: server.name, ...await load(server, "new", WARMUP_SECONDS) })
      await measure(server, "new", round)
      await measure(server, "duplicate", round)
    }
  }

  const peak = new Map(servers.map((s) => [s.name, peakRssMiB(s.pid)]))
  // Stopped first, so that every request still in flight has finished its statement.
  await Promise.all(servers.map((s) => s.stop()))
  const checked = await checkDeliveries(db.url, repositories)

  const best = (name: string, phase: Phase) =>
    runs.filter((r) => r.server === name && r.phase === phase).reduce((a, b) => (b.reqPerSec > a.reqPerSec ? b : a))
  const problems: Array<string> = [...checked.problems]
  const rows = [[
    "server",
    "deliveries",
    "req/s",
    "p50 ms",
    "p99 ms",
    "non-2xx",
    "errors",
    "CPU %",
    "CPU ms/req",
    "PG ms/req",
    "peak RSS MiB"
  ]]
  for (const name of ["ours", "baseline"]) {
    const all = [...runs, ...warmups].filter((r) => r.server === name)
    const non2xx = all.reduce((sum, r) => sum + r.non2xx, 0)
    const errors = all.reduce((sum, r) => sum + r.errors + r.timeouts, 0)
    const tally = tallies.get(name)!
    if (non2xx > 0) {
      const codes = all.flatMap((r) => Object.entries(r.statusCodes)).filter(([code]) => !code.startsWith("2"))
      problems.push(`${name}: ${non2xx} non-2xx responses (${codes.map(([c, n]) => `${c}×${n}`).join(", ")})`)
    }
    if (errors > 0) problems.push(`${name}: ${errors} connection errors or timeouts`)
    if (tally.unexpected > 0) problems.push(`${name}: ${tally.unexpected} 2xx responses of the wrong kind`)
    for (const example of tally.examples) problems.push(`${name}: ${example}`)
    for (const phase of ["new", "duplicate"] as const) {
      const b = best(name, phase)
      rows.push([
        name,
        phase,
        fmt(b.reqPerSec, 0),
        fmt(b.p50Ms, 2),
        fmt(b.p99Ms, 2),
        String(non2xx),
        String(errors),
        fmt(b.cpuPercent, 0),
        fmt((10 * b.cpuPercent) / b.reqPerSec, 2),
        fmt(b.pgMsPerRequest, 2),
        fmt(peak.get(name)!, 1)
      ])
    }
  }
  log(`best run of each (non-2xx and errors summed over all runs of each server, warm-ups included):`)
  table(rows, 2)
  for (const line of checked.summary) log(`stored: ${line}`)
  await cleanup()
  log(`total time ${((Date.now() - started) / 1000).toFixed(0)} s`)

  const [oursNew, baseNew, oursDup, baseDup] = [
    best("ours", "new"),
    best("baseline", "new"),
    best("ours", "duplicate"),
    best("baseline", "duplicate")
  ]
  const ratio = oursNew.reqPerSec / baseNew.reqPerSec
  const verdict = (ok: boolean) => (ok ? "met" : "NOT met")
  log(`duplicate deliveries/s ratio ours/baseline: ${(oursDup.reqPerSec / baseDup.reqPerSec).toFixed(2)}`)
  log(
    `SPEC (ours): new ${fmt(oursNew.reqPerSec, 0)}/s ≥ ${SPEC.deliveries} ${
      verdict(oursNew.reqPerSec >= SPEC.deliveries)
    }; p99 ${fmt(oursNew.p99Ms, 1)} ms ≤ ${SPEC.p99Ms} ${verdict(oursNew.p99Ms <= SPEC.p99Ms)}; ratio ${
      ratio.toFixed(2)
    } ≥ ${SPEC.ratio} ${verdict(ratio >= SPEC.ratio)}; duplicates ${fmt(oursDup.reqPerSec, 0)}/s ≥ ${SPEC.duplicates} ${
      verdict(oursDup.reqPerSec >= SPEC.duplicates)
    }`
  )
  for (const problem of problems) log(`PROBLEM: ${problem}`)
  const bestOf = `best of ${ROUNDS} round(s) of ${SECONDS} s, ${CONNECTIONS} connections, ${TARGET_BYTES}-byte pushes`
  writeReport({
    bench: "webhooks",
    baseline: "bare node:http + pg, one round trip (bench/webhooks/baseline.ts)",
    figures: [
      figure("new deliveries/s, ratio ours/baseline", "deliveries/s", oursNew.reqPerSec, baseNew.reqPerSec, {
        bar: atLeast(SPEC.ratio, "ratio"),
        notes: bestOf
      }),
      figure("new deliveries/s", "deliveries/s", oursNew.reqPerSec, baseNew.reqPerSec, {
        bar: atLeast(SPEC.deliveries)
      }),
      figure("new deliveries p99 latency", "ms", oursNew.p99Ms, baseNew.p99Ms, {
        bar: atMost(SPEC.p99Ms),
        notes: "exact, over every 2xx of the best run"
      }),
      figure("duplicate deliveries/s", "deliveries/s", oursDup.reqPerSec, baseDup.reqPerSec, {
        bar: atLeast(SPEC.duplicates)
      })
    ],
    peakRssMiB: peakRss(peak.get("ours"), peak.get("baseline"), "VmHWM of each server process, read before it stops"),
    problems
  })
  log(`webhook deliveries/s ratio ours/baseline: ${ratio.toFixed(2)}`)
  return problems.length === 0 ? 0 : 1
}

runMain("webhooks", lifecycle, main, () => servers)
