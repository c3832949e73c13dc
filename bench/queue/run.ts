// npm run bench:queue: jobs claimed and completed per second (no-op handler), enqueue→start latency
// over LISTEN/NOTIFY, and another tenant's enqueue→start latency behind one tenant's backlog (issue 22),
// ours against graphile-worker, side by side in one run (SPEC section 8). See bench/README.md, section "queue".
//
// Env (all optional): BENCH_DATABASE_URL (a loopback Postgres; default postgres://postgres@127.0.0.1:5432/postgres),
// BENCH_JOBS (5000), BENCH_WARMUP_JOBS (500), BENCH_BATCHED_JOBS (30000) and BENCH_BATCHED_WARMUP_JOBS (3000) for the
// batched runs, BENCH_ROUNDS (2), BENCH_LATENCY_JOBS (300),
// BENCH_GRAPHILE_LOCAL_QUEUE (200: graphile's localQueue.size in batched mode),
// BENCH_FAIRNESS_BACKLOG (10000) and BENCH_FAIRNESS_PROBES (20) for the fairness part,
// BENCH_ONLY=throughput|latency|fairness (one part alone), BENCH_PHASE=single|batched (throughput phases whose name starts
// so), and for profiling only (never the headline figures):
// BENCH_OURS_SQL (SQL run in ours' scratch database after its migrations, e.g. an ALTER FUNCTION to try),
// BENCH_CPU_PROF (a directory: every worker process runs with --cpu-prof and writes <dir>/<name>/*.cpuprofile),
// BENCH_RESULT_FILE (a file: the figures as JSON, bench/lib/report.ts; `npm run bench` sets it).
import * as SqlClient from "@effect/sql/SqlClient"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { Logger as GraphileLogger, makeWorkerUtils, runMigrations } from "graphile-worker"
import type { WorkerUtils } from "graphile-worker"
import { cpus } from "node:os"
import { fileURLToPath } from "node:url"
import pg from "pg"
import { DatabaseUrl } from "../../src/layers/EmbeddedPostgres.js"
import { SqlLive } from "../../src/layers/Sql.js"
import { AppConfig } from "../../src/services/AppConfig.js"
import { JobStore } from "../../src/services/stores/JobStore.js"
import type { ScratchDatabase } from "../lib/database.js"
import { adminUrl, createScratchDatabase, dropOrphans } from "../lib/database.js"
import { intEnv, makeLifecycle } from "../lib/lifecycle.js"
import { profileArgs } from "../lib/node.js"
import type { Server } from "../lib/processes.js"
import { cpuSeconds, loadAverage, machineCpu, sleep, startServer, tryPeakRssMiB } from "../lib/processes.js"
import type { Figure } from "../lib/report.js"
import { atLeast, atMost, figure, peakRss, writeReport } from "../lib/report.js"
import { runMain } from "../lib/runMain.js"
import { fmt } from "../lib/table.js"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const TIME_LIMIT_MS = 400_000
/** A further round starts only if one more round as long as the longest so far still ends before this. */
const ROUNDS_BUDGET_MS = 230_000
const PREFIX = "kotadb_bench_queue"

const JOBS = intEnv("BENCH_JOBS", 5000)
const WARMUP_JOBS = intEnv("BENCH_WARMUP_JOBS", 500)
// Batched workers drain 5,000 jobs in under half a second, a window that measures start-up (the
// first claims, JIT warm-up) more than throughput: batched runs take six times as many jobs.
const BATCHED_JOBS = intEnv("BENCH_BATCHED_JOBS", 30_000)
const BATCHED_WARMUP_JOBS = intEnv("BENCH_BATCHED_WARMUP_JOBS", 3_000)
const ROUNDS = intEnv("BENCH_ROUNDS", 2)
const LATENCY_JOBS = intEnv("BENCH_LATENCY_JOBS", 300)
const LATENCY_WARMUP_JOBS = 20
const LATENCY_SPACING_MS = 10
const GRAPHILE_LOCAL_QUEUE = intEnv("BENCH_GRAPHILE_LOCAL_QUEUE", 200)
const OURS_SQL = process.env.BENCH_OURS_SQL ?? ""
const ONLY = process.env.BENCH_ONLY ?? ""
const PHASE_FILTER = process.env.BENCH_PHASE ?? ""
if (!["", "throughput", "latency", "fairness"].includes(ONLY)) {
  throw new Error(`BENCH_ONLY must be throughput, latency or fairness, not ${ONLY}`)
}
const runs = (part: "throughput" | "latency" | "fairness") => ONLY === "" || ONLY === part
const FAIRNESS_BACKLOG = intEnv("BENCH_FAIRNESS_BACKLOG", 10_000)
const FAIRNESS_PROBES = intEnv("BENCH_FAIRNESS_PROBES", 20)
// The probes go in once the workers are this far into the backlog.
const FAIRNESS_START_AFTER = 100
const REPOSITORIES = 50
const POLL_MS = 1000 // both systems' poll interval while measuring throughput (ours' default)
const IDLE_POLL_MS = 60_000 // while measuring latency: only NOTIFY can wake a worker in time
// SPEC section 8: throughput at least graphile-worker's on the same database.
const SPEC = { single: 3_000, batched: 15_000, ratio: 1, p99Ms: 25 } as const

const lifecycle = makeLifecycle(TIME_LIMIT_MS)
const { cleanup, log, onCleanup, table, warn } = lifecycle

// ---------------------------------------------------------------------------------------------------
// Teardown: runs once, on success, failure, Ctrl-C, SIGTERM or the time limit.
// ---------------------------------------------------------------------------------------------------

const workers = new Set<Server>()

// ---------------------------------------------------------------------------------------------------
// The two systems: how to start a worker, add jobs and see that all are done.
// ---------------------------------------------------------------------------------------------------

type SystemName = "ours" | "graphile-worker"

interface WorkerSettings {
  readonly concurrency: number
  readonly batch: number
  readonly pollMs: number
}

interface System {
  readonly name: SystemName
  readonly db: ScratchDatabase
  /** A connection of the bench's own: bulk inserts, the drained check, backend CPU. */
  readonly client: pg.Client
  readonly env: (settings: WorkerSettings) => NodeJS.ProcessEnv
  /** Settings worth printing, as this system's knobs name them. */
  readonly describe: (settings: WorkerSettings) => string
  /** `n` jobs in one statement (one transaction) that also wakes the workers. */
  readonly insertBulk: (n: number, payload: object) => Promise<void>
  /** One job through the system's own enqueue API. */
  readonly enqueue: (i: number, payload: object) => Promise<void>
  /** One job of another tenant than the bulk and `enqueue` jobs' (graphile-worker has no tenants: any job). */
  readonly enqueueOther: (payload: object) => Promise<void>
  readonly remaining: () => Promise<number>
  /** After a run: problems with the jobs' final state. */
  readonly check: (expected: number) => Promise<Array<string>>
  readonly close: () => Promise<void>
}

const graphileLogger = new GraphileLogger(() => (level, message) => {
  if (level === "error" || level === "warning") warn(`graphile-worker ${level}: ${message}`)
})

/** Both pools hold `pool` connections for work plus one LISTEN connection (ours opens it outside its pool). */
const poolSize = (concurrency: number) => Math.max(10, concurrency + 2)

const connect = async (url: string) => {
  const client = new pg.Client({ connectionString: url, application_name: "kotadb-bench-queue" })
  await client.connect()
  return client
}

const makeOurs = async (db: ScratchDatabase): Promise<System> => {
  // JobStore.enqueue needs our SQL layer; building it also migrates the database.
  const runtime = ManagedRuntime.make(
    JobStore.Default.pipe(
      Layer.provideMerge(SqlLive),
      Layer.provide(Layer.succeed(DatabaseUrl, Redacted.make(db.url))),
      Layer.provide(
        AppConfig.Tool.pipe(
          Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["DATABASE_MAX_CONNECTIONS", "2"]]))))
        )
      ),
      Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
    )
  )
  const repositories = await runtime.runPromise(Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const [user] = yield* sql<{ id: string }>`
      INSERT INTO auth.users (email) VALUES (${`bench-${crypto.randomUUID()}@example.test`}) RETURNING id`
    // Jobs are spread over the repositories: a repository's job transitions take turns on its row.
    const rows = yield* sql<{ id: string }>`
      INSERT INTO repositories (user_id, name, git_url, provider)
      SELECT ${
      user!.id
    }, 'bench-' || n, 'https://github.com/bench/repo-' || n || '-' || ${crypto.randomUUID()}, 'github'
      FROM generate_series(1, ${REPOSITORIES}) AS n
      RETURNING id`
    return rows.map((row) => row.id)
  }))
  // Another tenant, with a repository of its own: the fairness probes' jobs.
  const other = await runtime.runPromise(Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{ id: string }>`
      WITH u AS (INSERT INTO auth.users (email) VALUES (${`bench-${crypto.randomUUID()}@example.test`}) RETURNING id)
      INSERT INTO repositories (user_id, name, git_url, provider)
      SELECT u.id, 'bench-other', ${`https://github.com/bench/other-${crypto.randomUUID()}`}, 'github' FROM u
      RETURNING id`
    return row!.id
  }))
  const client = await connect(db.url)
  if (OURS_SQL !== "") await client.query(OURS_SQL)
  const store = await runtime.runPromise(JobStore)
  return {
    name: "ours",
    db,
    client,
    env: ({ batch, concurrency, pollMs }) => ({
      DATABASE_URL: db.url,
      DATABASE_MAX_CONNECTIONS: String(poolSize(concurrency)),
      WORKER_CONCURRENCY: String(concurrency),
      WORKER_BATCH_SIZE: String(batch),
      WORKER_POLL_INTERVAL: `${pollMs} millis`,
      KOTADB_WEBHOOK_BASE_URL: "http://127.0.0.1",
      SECRETS_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString("base64"),
      LOG_LEVEL: "warning"
    }),
    describe: ({ batch, concurrency, pollMs }) =>
      `WORKER_CONCURRENCY=${concurrency} WORKER_BATCH_SIZE=${batch} WORKER_POLL_INTERVAL=${pollMs}ms `
      + `DATABASE_MAX_CONNECTIONS=${poolSize(concurrency)} (+1 LISTEN connection)`,
    insertBulk: async (n, payload) => {
      await client.query(
        `WITH inserted AS (
           INSERT INTO indexing_jobs (repository_id, job_type, payload)
           SELECT ($1::uuid[])[1 + i % cardinality($1::uuid[])], 'validate', $2::jsonb FROM generate_series(1, $3) AS i
           RETURNING 1
         )
         SELECT (SELECT count(*) FROM inserted), pg_notify('kotadb_jobs', 'validate')`,
        [repositories, JSON.stringify(payload), n]
      )
    },
    enqueue: (i, payload) =>
      runtime.runPromise(
        store.enqueue({ repositoryId: repositories[i % REPOSITORIES]!, jobType: "validate", payload })
      ).then(() => undefined),
    enqueueOther: (payload) =>
      runtime.runPromise(store.enqueue({ repositoryId: other, jobType: "validate", payload })).then(() => undefined),
    remaining: async () =>
      Number(
        (await client.query<{ n: string }>(
          "SELECT count(*) AS n FROM indexing_jobs WHERE status IN ('queued', 'in_progress')"
        )).rows[0]!.n
      ),
    check: async (expected) => {
      const { rows } = await client.query<{ status: string; n: string }>(
        "SELECT status, count(*) AS n FROM indexing_jobs GROUP BY status"
      )
      const other = rows.filter((row) => row.status !== "completed")
      const completed = Number(rows.find((row) => row.status === "completed")?.n ?? 0)
      const problems = other.map((row) => `ours: ${row.n} jobs ${row.status}`)
      if (completed !== expected) problems.push(`ours: ${completed} jobs completed, expected ${expected}`)
      return problems
    },
    close: async () => {
      await client.end()
      await runtime.dispose()
    }
  }
}

const makeGraphile = async (db: ScratchDatabase): Promise<System> => {
  await runMigrations({ connectionString: db.url, logger: graphileLogger })
  const utils: WorkerUtils = await makeWorkerUtils({ connectionString: db.url, maxPoolSize: 2, logger: graphileLogger })
  const client = await connect(db.url)
  return {
    name: "graphile-worker",
    db,
    client,
    env: ({ batch, concurrency, pollMs }) => ({
      DATABASE_URL: db.url,
      BENCH_GRAPHILE_CONCURRENCY: String(concurrency),
      BENCH_GRAPHILE_POOL: String(poolSize(concurrency) + 1),
      BENCH_GRAPHILE_POLL_MS: String(pollMs),
      BENCH_GRAPHILE_LOCAL_QUEUE: String(batch > 1 ? GRAPHILE_LOCAL_QUEUE : -1),
      BENCH_GRAPHILE_BATCH_DELAY: String(batch > 1 ? 0 : -1)
    }),
    describe: ({ batch, concurrency, pollMs }) =>
      `concurrency=${concurrency} pollInterval=${pollMs} maxPoolSize=${poolSize(concurrency) + 1} (LISTEN included) `
      + (batch > 1
        ? `localQueue.size=${GRAPHILE_LOCAL_QUEUE} completeJobBatchDelay=0 failJobBatchDelay=0`
        : "localQueue off, completeJobBatchDelay=-1 failJobBatchDelay=-1 (defaults)"),
    insertBulk: async (n, payload) => {
      // add_jobs inserts them in one statement and sends one NOTIFY carrying the count.
      await client.query(
        `SELECT count(*) FROM graphile_worker.add_jobs(ARRAY(
           SELECT ROW('validate', $1::json, NULL, NULL, NULL, NULL, NULL, NULL)::graphile_worker.job_spec
           FROM generate_series(1, $2)
         ))`,
        [JSON.stringify(payload), n]
      )
    },
    enqueue: async (_i, payload) => {
      await utils.addJob("validate", payload)
    },
    enqueueOther: async (payload) => {
      await utils.addJob("validate", payload)
    },
    remaining: async () =>
      Number((await client.query<{ n: string }>("SELECT count(*) AS n FROM graphile_worker._private_jobs")).rows[0]!.n),
    check: async () => {
      // Completed jobs are deleted: none may be left, failed or otherwise.
      const left = Number(
        (await client.query<{ n: string }>("SELECT count(*) AS n FROM graphile_worker._private_jobs")).rows[0]!.n
      )
      return left === 0 ? [] : [`graphile-worker: ${left} jobs left in _private_jobs`]
    },
    close: async () => {
      await client.end()
      await utils.release()
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Worker processes
// ---------------------------------------------------------------------------------------------------

interface WorkerProcess {
  readonly server: Server
  /** Resolves when the worker prints exactly `line`. */
  readonly waitFor: (line: string, timeoutMs: number) => Promise<void>
  readonly latencies: Array<number>
  readonly warm: () => number
  /** Stops the worker (SIGTERM, it drains) and returns how many times its handler ran. */
  readonly stop: () => Promise<number>
}

/** The largest VmHWM (MiB) of each system's worker processes, read just before each one is stopped. */
const peaks = new Map<SystemName, number>()

let started = 0
const startWorker = async (
  system: System,
  settings: WorkerSettings,
  marks: ReadonlyArray<number>
): Promise<WorkerProcess> => {
  const arg = system.name === "ours" ? "ours" : "graphile"
  const name = `${arg}-${++started}`
  // Both systems: the same script, the same Node and the same loader (tsx), one process each.
  const server = startServer(
    system.name,
    [...profileArgs(name, true), "--import", "tsx", "bench/queue/worker.ts", arg],
    {
      cwd: ROOT,
      port: 0,
      env: { PATH: process.env.PATH, BENCH_MARKS: marks.join(","), ...system.env(settings) }
    }
  )
  workers.add(server)
  const seen = new Set<string>()
  const waiters = new Map<string, () => void>()
  const latencies: Array<number> = []
  let warm = 0
  let ran = -1
  let buffered = ""
  server.child.stdout!.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("utf8")
    const lines = buffered.split("\n")
    buffered = lines.pop()!
    for (const line of lines) {
      if (line.startsWith("lat ")) latencies.push(Number(line.slice(4)))
      else if (line === "warm") warm++
      else if (line.startsWith("ran ")) ran = Number(line.slice(4))
      seen.add(line)
      waiters.get(line)?.()
    }
  })
  const waitFor = (line: string, timeoutMs: number) =>
    new Promise<void>((resolvePromise, reject) => {
      if (seen.has(line)) return resolvePromise()
      const timer = setTimeout(() => {
        waiters.delete(line)
        server.child.off("exit", onExit)
        reject(new Error(`${system.name} worker: no "${line}" after ${timeoutMs} ms`))
      }, timeoutMs)
      const onExit = () => reject(new Error(`${system.name} worker exited (${server.child.exitCode})`))
      server.child.once("exit", onExit)
      waiters.set(line, () => {
        clearTimeout(timer)
        server.child.off("exit", onExit)
        waiters.delete(line)
        resolvePromise()
      })
    })
  try {
    await waitFor("ready", 60_000)
    await waitListening(system)
  } catch (error) {
    warn(`--- last output of the ${system.name} worker ---\n${server.output()}`)
    throw error
  }
  return {
    server,
    waitFor,
    latencies,
    warm: () => warm,
    stop: async () => {
      const peak = tryPeakRssMiB(server.pid)
      if (peak !== undefined) peaks.set(system.name, Math.max(peaks.get(system.name) ?? 0, peak))
      await server.stop(15_000)
      workers.delete(server)
      // Its last line ("ran <n>") may still be in the pipe when the exit is seen.
      const stdout = server.child.stdout!
      if (ran === -1 && !stdout.readableEnded) {
        await Promise.race([new Promise((done) => stdout.once("end", done)), sleep(2_000)])
      }
      return ran
    }
  }
}

/** Until some session of the worker's database is idle after a LISTEN (both systems LISTEN on one connection). */
const waitListening = async (system: System) => {
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    const { rows } = await system.client.query(
      `SELECT 1 FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'idle' AND query LIKE 'LISTEN %'`
    )
    if (rows.length > 0) return
    await sleep(20)
  }
  throw new Error(`${system.name}: no LISTEN session after 10 s`)
}

/** CPU seconds of the database's backends (but the bench's own connection) so far, by pid. */
const backendCpu = async (system: System) => {
  const { rows } = await system.client.query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
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

const waitDrained = async (system: System, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while ((await system.remaining()) > 0) {
    if (Date.now() > deadline) throw new Error(`${system.name}: jobs still queued after ${timeoutMs} ms`)
    await sleep(2)
  }
}

const vacuum = async (system: System) => {
  await system.client.query(
    system.name === "ours"
      ? "VACUUM ANALYZE indexing_jobs, indexing_job_events, repositories"
      : "VACUUM ANALYZE graphile_worker._private_jobs"
  )
}

// ---------------------------------------------------------------------------------------------------
// Measurements
// ---------------------------------------------------------------------------------------------------

interface Throughput {
  readonly jobsPerSecond: number
  readonly seconds: number
  readonly workerCpuMsPerJob: number
  readonly pgCpuMsPerJob: number
  /** Bytes of WAL the whole server wrote per job (one system runs at a time). */
  readonly walBytesPerJob: number
  readonly machineBusyPercent: number
  readonly load: number
}

const problems: Array<string> = []
const ranSoFar = new Map<SystemName, number>()

/**
 * A worker at these settings, warm (`warmup` jobs first, untimed), then `jobs` added in one statement:
 * the time from that statement's return (its commit) until no job is left queued or in progress.
 */
const measureThroughput = async (
  system: System,
  settings: WorkerSettings,
  { jobs, warmup }: { readonly jobs: number; readonly warmup: number }
): Promise<Throughput> => {
  await vacuum(system)
  const worker = await startWorker(system, settings, [warmup, warmup + jobs])
  try {
    await system.insertBulk(warmup, {})
    await worker.waitFor(`mark ${warmup}`, 60_000)
    await waitDrained(system, 30_000)

    const workerCpu = cpuSeconds(worker.server.pid)
    const pgCpu = await backendCpu(system)
    const machine = machineCpu()
    const walAt = () => system.client.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn")
    const wal = (await walAt()).rows[0]!.lsn
    await system.insertBulk(jobs, {})
    const t0 = performance.now()
    await worker.waitFor(`mark ${warmup + jobs}`, 120_000)
    await waitDrained(system, 30_000)
    const seconds = (performance.now() - t0) / 1000
    const machineAfter = machineCpu()
    const pgCpuAfter = await backendCpu(system)
    const walAfter = (await walAt()).rows[0]!.lsn
    const { rows: [walBytes] } = await system.client.query<{ n: string }>(
      "SELECT pg_wal_lsn_diff($1, $2)::bigint::text AS n",
      [walAfter, wal]
    )
    const result: Throughput = {
      jobsPerSecond: jobs / seconds,
      seconds,
      workerCpuMsPerJob: (1000 * (cpuSeconds(worker.server.pid) - workerCpu)) / jobs,
      pgCpuMsPerJob: (1000 * cpuSince(pgCpu, pgCpuAfter)) / jobs,
      walBytesPerJob: Number(walBytes!.n) / jobs,
      machineBusyPercent: (100 * (machineAfter.busy - machine.busy)) / (machineAfter.total - machine.total),
      load: loadAverage()
    }
    return result
  } finally {
    const ran = await worker.stop()
    const expected = warmup + jobs
    if (ran !== expected) problems.push(`${system.name}: the handler ran ${ran} times for ${expected} jobs`)
    ranSoFar.set(system.name, (ranSoFar.get(system.name) ?? 0) + expected)
  }
}

interface Latency {
  readonly p50: number
  readonly p99: number
  readonly max: number
  readonly n: number
  /** How long the enqueue call itself took (insert, commit, answer), p50 and p99. */
  readonly enqueueP50: number
  readonly enqueueP99: number
}

const percentile = (sorted: ReadonlyArray<number>, q: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!

/**
 * An idle worker with a long poll interval: only NOTIFY wakes it. Jobs are added one at a time through
 * the system's own API, LATENCY_SPACING_MS apart; each carries CLOCK_MONOTONIC taken just before its
 * insert, and the handler reports CLOCK_MONOTONIC minus that (the clock is shared by all processes).
 */
const measureLatency = async (system: System): Promise<Latency> => {
  await vacuum(system)
  const settings = { concurrency: 4, batch: 1, pollMs: IDLE_POLL_MS }
  const worker = await startWorker(system, settings, [])
  let sent = 0
  const enqueueMs: Array<number> = []
  try {
    const paced = async (n: number, payload: () => object) => {
      const start = performance.now()
      for (let i = 0; i < n; i++) {
        const wait = start + i * LATENCY_SPACING_MS - performance.now()
        if (wait > 0) await sleep(wait)
        const before = performance.now()
        await system.enqueue(sent++, payload())
        enqueueMs.push(performance.now() - before)
      }
    }
    await paced(LATENCY_WARMUP_JOBS, () => ({ w: 1 }))
    const warmDeadline = Date.now() + 10_000
    while (worker.warm() < LATENCY_WARMUP_JOBS) {
      if (Date.now() > warmDeadline) throw new Error(`${system.name}: warm-up jobs not started within 10 s`)
      await sleep(10)
    }
    enqueueMs.length = 0
    await paced(LATENCY_JOBS, () => ({ t: process.hrtime.bigint().toString() }))
    const deadline = Date.now() + 15_000
    while (worker.latencies.length < LATENCY_JOBS) {
      if (Date.now() > deadline) {
        throw new Error(`${system.name}: ${worker.latencies.length}/${LATENCY_JOBS} latency jobs started within 15 s`)
      }
      await sleep(10)
    }
    await waitDrained(system, 10_000)
    const sorted = [...worker.latencies].sort((a, b) => a - b)
    const enqueueSorted = enqueueMs.sort((a, b) => a - b)
    return {
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      max: sorted.at(-1)!,
      n: sorted.length,
      enqueueP50: percentile(enqueueSorted, 0.5),
      enqueueP99: percentile(enqueueSorted, 0.99)
    }
  } finally {
    const ran = await worker.stop()
    if (ran !== sent) problems.push(`${system.name}: the handler ran ${ran} times for ${sent} latency jobs`)
    ranSoFar.set(system.name, (ranSoFar.get(system.name) ?? 0) + sent)
  }
}

interface Fairness {
  readonly p50: number
  readonly max: number
  readonly n: number
  /** Jobs of the backlog still queued or running when the last probe was enqueued. */
  readonly backlogLeft: number
}

/**
 * Another tenant's first jobs behind one tenant's backlog (issue 22): single mode, C = 4, woken by
 * NOTIFY. After a warm-up, FAIRNESS_BACKLOG jobs of one tenant in one statement; once the workers are
 * FAIRNESS_START_AFTER jobs into it, FAIRNESS_PROBES jobs of another tenant through the system's API,
 * LATENCY_SPACING_MS apart, each timed from before its insert to its handler's start. graphile-worker
 * claims by priority, run_at and id alone, so its figure is how long the backlog takes to drain.
 */
const measureFairness = async (system: System): Promise<Fairness> => {
  await vacuum(system)
  const settings = { concurrency: 4, batch: 1, pollMs: POLL_MS }
  const worker = await startWorker(system, settings, [WARMUP_JOBS, WARMUP_JOBS + FAIRNESS_START_AFTER])
  let sent = 0
  try {
    await system.insertBulk(WARMUP_JOBS, {})
    await worker.waitFor(`mark ${WARMUP_JOBS}`, 60_000)
    await waitDrained(system, 30_000)
    await system.insertBulk(FAIRNESS_BACKLOG, {})
    await worker.waitFor(`mark ${WARMUP_JOBS + FAIRNESS_START_AFTER}`, 60_000)
    const start = performance.now()
    for (let i = 0; i < FAIRNESS_PROBES; i++) {
      const wait = start + i * LATENCY_SPACING_MS - performance.now()
      if (wait > 0) await sleep(wait)
      await system.enqueueOther({ t: process.hrtime.bigint().toString() })
      sent++
    }
    const backlogLeft = await system.remaining() - (FAIRNESS_PROBES - worker.latencies.length)
    const deadline = Date.now() + 120_000
    while (worker.latencies.length < FAIRNESS_PROBES) {
      if (Date.now() > deadline) {
        throw new Error(`${system.name}: ${worker.latencies.length}/${FAIRNESS_PROBES} probes started within 120 s`)
      }
      await sleep(5)
    }
    await waitDrained(system, 120_000)
    const sorted = [...worker.latencies].sort((a, b) => a - b)
    return { p50: percentile(sorted, 0.5), max: sorted.at(-1)!, n: sorted.length, backlogLeft }
  } finally {
    const ran = await worker.stop()
    const expected = WARMUP_JOBS + FAIRNESS_BACKLOG + sent
    if (ran !== expected) problems.push(`${system.name}: the handler ran ${ran} times for ${expected} fairness jobs`)
    ranSoFar.set(system.name, (ranSoFar.get(system.name) ?? 0) + expected)
  }
}

// ---------------------------------------------------------------------------------------------------

const SINGLE_SIZE = { jobs: JOBS, warmup: WARMUP_JOBS }
const ALL_PHASES = [
  { key: "single C=4", settings: { concurrency: 4, batch: 1, pollMs: POLL_MS }, size: SINGLE_SIZE },
  { key: "single C=16", settings: { concurrency: 16, batch: 1, pollMs: POLL_MS }, size: SINGLE_SIZE },
  {
    key: "batched C=4",
    settings: { concurrency: 4, batch: 50, pollMs: POLL_MS },
    size: { jobs: BATCHED_JOBS, warmup: BATCHED_WARMUP_JOBS }
  }
] as const
const PHASES = PHASE_FILTER === "" ? ALL_PHASES : ALL_PHASES.filter((phase) => phase.key.startsWith(PHASE_FILTER))
const PHASE_SPEC = { "single C=4": SPEC.single, "single C=16": SPEC.single, "batched C=4": SPEC.batched } as const

const main = async () => {
  const startedAt = Date.now()
  const admin = adminUrl()
  for (const stale of await dropOrphans(admin, PREFIX)) warn(`dropped ${stale}, left by a killed run`)

  // A fresh database per system, dropped at the end (and on failure).
  const systems: Array<System> = []
  for (const make of [makeOurs, makeGraphile]) {
    const db = await createScratchDatabase(admin, PREFIX)
    onCleanup(db.drop)
    const system = await make(db)
    onCleanup(system.close)
    systems.push(system)
  }
  onCleanup(async () => {
    await Promise.all([...workers].map((w) => w.stop(5_000)))
  })

  const version = (await systems[0]!.client.query<{ v: string }>("SELECT current_setting('server_version') AS v"))
    .rows[0]!.v
  const fsync = (await systems[0]!.client.query<{ v: string }>("SELECT current_setting('fsync') AS v")).rows[0]!.v
  log(
    `queue bench: ${JOBS} no-op jobs per single-mode throughput run (after ${WARMUP_JOBS} untimed warm-up jobs), `
      + `${BATCHED_JOBS} per batched run (after ${BATCHED_WARMUP_JOBS}), `
      + `${REPOSITORIES} repositories, ${ROUNDS} rounds, best of each reported; `
      + `latency: ${LATENCY_JOBS} jobs ${LATENCY_SPACING_MS} ms apart (after ${LATENCY_WARMUP_JOBS} warm-up jobs); `
      + `fairness: ${FAIRNESS_PROBES} jobs of another tenant behind one tenant's ${FAIRNESS_BACKLOG}-job backlog`
  )
  log(
    `machine: ${cpus().length} cores, Node ${process.versions.node}, PostgreSQL ${version} (fsync ${fsync}); `
      + `1-min load average ${fmt(loadAverage(), 2)}`
  )
  if (OURS_SQL !== "") log(`BENCH_OURS_SQL: ours' database was changed by: ${OURS_SQL} (profiling only)`)
  for (const phase of PHASES) {
    for (const system of systems) {
      log(`  ${phase.key.padEnd(12)} ${system.name.padEnd(16)} ${system.describe(phase.settings)}`)
    }
  }

  const results = new Map<string, Array<Throughput>>()
  const latencies = new Map<SystemName, Array<Latency>>()
  const fairness = new Map<SystemName, Array<Fairness>>()
  let longestRoundMs = 0
  let rounds = 0
  for (let round = 1; round <= ROUNDS; round++) {
    const roundStart = Date.now()
    if (round > 1 && roundStart - startedAt + longestRoundMs > ROUNDS_BUDGET_MS) {
      log(
        `round ${round} and later skipped: another ${
          fmt(longestRoundMs / 1000)
        } s round would not end within the time budget`
      )
      break
    }
    rounds = round
    // Alternate which system goes first, so that neither always runs on a warmer (or busier) machine.
    const order = round % 2 === 1 ? systems : [...systems].reverse()
    for (const phase of runs("throughput") ? PHASES : []) {
      for (const system of order) {
        const r = await measureThroughput(system, phase.settings, phase.size)
        const key = `${phase.key}|${system.name}`
        results.set(key, [...(results.get(key) ?? []), r])
        log(
          `round ${round} ${phase.key.padEnd(12)} ${system.name.padEnd(16)} ${fmt(r.jobsPerSecond).padStart(6)} jobs/s `
            + `in ${fmt(r.seconds, 2)} s; CPU per job: worker ${fmt(r.workerCpuMsPerJob, 3)} ms, `
            + `PG backends ${fmt(r.pgCpuMsPerJob, 3)} ms; WAL ${fmt(r.walBytesPerJob)} B/job; machine busy ${
              fmt(r.machineBusyPercent)
            } %, load ${fmt(r.load, 2)}`
        )
      }
    }
    for (const system of runs("latency") ? order : []) {
      const r = await measureLatency(system)
      latencies.set(system.name, [...(latencies.get(system.name) ?? []), r])
      log(
        `round ${round} latency      ${system.name.padEnd(16)} enqueue→start p50 ${fmt(r.p50, 2)} ms, p99 ${
          fmt(r.p99, 2)
        } ms, max ${fmt(r.max, 2)} ms (${r.n} jobs); the enqueue call itself p50 ${fmt(r.enqueueP50, 2)} ms, `
          + `p99 ${fmt(r.enqueueP99, 2)} ms; load ${fmt(loadAverage(), 2)}`
      )
    }
    longestRoundMs = Math.max(longestRoundMs, Date.now() - roundStart)
  }
  // Once, after the rounds: graphile-worker's figure is the time its backlog takes to drain, which is
  // long, and the two figures differ by orders of magnitude.
  for (const system of runs("fairness") ? systems : []) {
    const r = await measureFairness(system)
    fairness.set(system.name, [r])
    log(
      `fairness     ${system.name.padEnd(16)} another tenant's job behind ${FAIRNESS_BACKLOG} queued: `
        + `enqueue→start p50 ${fmt(r.p50, 2)} ms, max ${fmt(r.max, 2)} ms (${r.n} jobs; ${r.backlogLeft} of the `
        + `backlog still queued or running after the last one was enqueued); load ${fmt(loadAverage(), 2)}`
    )
  }

  for (const system of systems) problems.push(...await system.check(ranSoFar.get(system.name) ?? 0))

  const best = (phase: string, system: SystemName) =>
    Math.max(...(results.get(`${phase}|${system}`) ?? []).map((r) => r.jobsPerSecond))
  // The round with the lower p99 (its p50 with it).
  const bestLatency = (system: SystemName) =>
    (latencies.get(system) ?? []).reduce<Latency | undefined>(
      (a, b) => (a === undefined || b.p99 < a.p99 ? b : a),
      undefined
    )
  const rows: Array<Array<string>> = [["figure", "ours", "graphile-worker", "ratio ours/graphile"]]
  for (const phase of runs("throughput") ? PHASES : []) {
    const ours = best(phase.key, "ours")
    const graphile = best(phase.key, "graphile-worker")
    rows.push([`jobs/s ${phase.key}`, fmt(ours), fmt(graphile), fmt(ours / graphile, 2)])
  }
  const lo = bestLatency("ours")
  const lg = bestLatency("graphile-worker")
  if (lo !== undefined && lg !== undefined) {
    rows.push(["enqueue→start p50 ms", fmt(lo.p50, 2), fmt(lg.p50, 2), fmt(lo.p50 / lg.p50, 2)])
    rows.push(["enqueue→start p99 ms", fmt(lo.p99, 2), fmt(lg.p99, 2), fmt(lo.p99 / lg.p99, 2)])
  }
  const fo = fairness.get("ours")?.[0]
  const fg = fairness.get("graphile-worker")?.[0]
  if (fo !== undefined && fg !== undefined) {
    rows.push(["other tenant behind backlog p50 ms", fmt(fo.p50, 2), fmt(fg.p50, 2), fmt(fo.p50 / fg.p50, 3)])
    rows.push(["other tenant behind backlog max ms", fmt(fo.max, 2), fmt(fg.max, 2), fmt(fo.max / fg.max, 3)])
  }
  log(
    `best of ${rounds} round${rounds === 1 ? "" : "s"} (jobs/s: the highest, higher is better; latency: the round `
      + `with the lower p99, lower is better):`
  )
  table(rows)
  log(
    `peak RSS MiB (VmHWM, the largest of each system's worker processes): ours ${
      fmt(peaks.get("ours") ?? Number.NaN, 1)
    }, graphile-worker ${fmt(peaks.get("graphile-worker") ?? Number.NaN, 1)}`
  )

  await cleanup()
  log(`total time ${((Date.now() - startedAt) / 1000).toFixed(0)} s`)
  for (const problem of problems) log(`PROBLEM: ${problem}`)
  const ratio = best("single C=4", "ours") / best("single C=4", "graphile-worker")
  const figures: Array<Figure> = []
  for (const phase of runs("throughput") ? PHASES : []) {
    const [ours, graphile] = [best(phase.key, "ours"), best(phase.key, "graphile-worker")]
    figures.push(
      figure(`jobs/s ${phase.key}, ratio ours/graphile-worker`, "jobs/s", ours, graphile, {
        bar: atLeast(SPEC.ratio, "ratio"),
        notes: `best of ${rounds} round(s) of ${phase.size.jobs} jobs`
      }),
      figure(`jobs/s ${phase.key}`, "jobs/s", ours, graphile, { bar: atLeast(PHASE_SPEC[phase.key]) })
    )
  }
  if (lo !== undefined && lg !== undefined) {
    const notes = `${LATENCY_JOBS} jobs ${LATENCY_SPACING_MS} ms apart, woken by NOTIFY, the round with the lower p99`
    figures.push(
      figure("enqueue→start p50 latency", "ms", lo.p50, lg.p50, { notes }),
      figure("enqueue→start p99 latency", "ms", lo.p99, lg.p99, { bar: atMost(SPEC.p99Ms), notes })
    )
  }
  if (fo !== undefined && fg !== undefined) {
    const notes = `${FAIRNESS_PROBES} jobs of another tenant, ${LATENCY_SPACING_MS} ms apart, queued once the workers `
      + `(single, C=4) were ${FAIRNESS_START_AFTER} jobs into one tenant's ${FAIRNESS_BACKLOG}-job backlog `
      + `(${fo.backlogLeft} and ${fg.backlogLeft} of it still waiting); one run after the rounds. `
      + "graphile-worker has no tenants: it claims by priority and age, so its jobs wait for the backlog "
      + "(its job_queue would serialise a tenant's jobs, one at a time, instead)"
    figures.push(
      figure(`another tenant's enqueue→start p50 behind a ${FAIRNESS_BACKLOG}-job backlog`, "ms", fo.p50, fg.p50, {
        notes
      }),
      figure(`another tenant's enqueue→start max behind a ${FAIRNESS_BACKLOG}-job backlog`, "ms", fo.max, fg.max, {
        notes
      })
    )
  }
  writeReport({
    bench: "queue",
    baseline: "graphile-worker 0.17.3 on the same Postgres",
    figures,
    peakRssMiB: peakRss(
      peaks.get("ours"),
      peaks.get("graphile-worker"),
      "VmHWM of each system's worker process (one per measurement, the largest of them), read before it stops; "
        + "both run the same script (node --import tsx bench/queue/worker.ts), which loads tsx and our modules, so "
        + "graphile-worker's figure is larger than its own footprint"
    ),
    problems
  })
  log(
    `queue jobs/s ratio ours/graphile-worker: ${Number.isFinite(ratio) ? ratio.toFixed(2) : "n/a (throughput not run)"}`
  )
  return problems.length === 0 ? 0 : 1
}

runMain(
  "queue",
  lifecycle,
  main,
  () => [...workers].map((worker) => ({ name: `the ${worker.name} worker`, output: worker.output }))
)
