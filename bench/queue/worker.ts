// A worker process for `npm run bench:queue` (bench/queue/run.ts starts one per measurement):
//   node --import tsx bench/queue/worker.ts ours       our runtime (`runWorker`), configured through AppConfig's env
//   node --import tsx bench/queue/worker.ts graphile   graphile-worker's `run()`, configured by BENCH_GRAPHILE_* env
// Both run the same no-op `validate` handler. It reports on stdout, one line each:
//   ready          the worker has started
//   mark <n>       the handler has now run n times, for each n in BENCH_MARKS (comma-separated)
//   warm           a latency warm-up job ran (payload {"w":1})
//   lat <ms>       a latency job ran: CLOCK_MONOTONIC now minus the payload's `t` (ns, taken before the insert)
//   ran <n>        at exit: how many times the handler ran in all
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Logger as GraphileLogger, run } from "graphile-worker"
import { DatabaseUrlLive } from "../../src/layers/EmbeddedPostgres.js"
import { LoggingLive } from "../../src/layers/Observability.js"
import { ServicesLive } from "../../src/layers/Services.js"
import { SqlLive } from "../../src/layers/Sql.js"
import { AppConfig } from "../../src/services/AppConfig.js"
import { JobHandlers } from "../../src/worker/JobHandlers.js"
import { runWorker } from "../../src/worker/Worker.js"

// stdout is a pipe: writes are synchronous on Linux, so nothing is lost at exit.
const say = (line: string) => process.stdout.write(`${line}\n`)

const marks = new Set((process.env.BENCH_MARKS ?? "").split(",").filter((s) => s !== "").map(Number))
let ran = 0
process.on("exit", () => say(`ran ${ran}`))

/** The whole handler: count, and report latency jobs. */
const onRun = (payload: unknown) => {
  ran++
  if (marks.has(ran)) say(`mark ${ran}`)
  const p = payload as { t?: string; w?: number } | null
  if (p?.t !== undefined) say(`lat ${Number(process.hrtime.bigint() - BigInt(p.t)) / 1e6}`)
  else if (p?.w !== undefined) say("warm")
}

const system = process.argv[2]

if (system === "ours") {
  // The composition of src/layers/App.ts with the worker alone (no HTTP server) and the bench's handler.
  const WorkerProcess = Layer.scopedDiscard(Effect.zipRight(runWorker, Effect.sync(() => say("ready")))).pipe(
    Layer.provide(JobHandlers.layer({ validate: (job) => Effect.sync(() => onRun(job.payload)) })),
    Layer.provide(ServicesLive),
    Layer.provide(SqlLive),
    Layer.provide(DatabaseUrlLive),
    Layer.provide(LoggingLive),
    Layer.provideMerge(AppConfig.Default)
  )
  NodeRuntime.runMain(Layer.launch(WorkerProcess))
} else if (system === "graphile") {
  const int = (name: string) => {
    const value = Number(process.env[name])
    if (!Number.isInteger(value)) throw new Error(`${name} must be an integer, not ${process.env[name]}`)
    return value
  }
  const localQueue = int("BENCH_GRAPHILE_LOCAL_QUEUE")
  const batchDelay = int("BENCH_GRAPHILE_BATCH_DELAY")
  // Warnings and errors only, on stderr (as LOG_LEVEL=warning does for ours).
  const logger = new GraphileLogger(() => (level, message) => {
    if (level === "error" || level === "warning") process.stderr.write(`graphile-worker ${level}: ${message}\n`)
  })
  const runner = await run({
    connectionString: process.env.DATABASE_URL!,
    concurrency: int("BENCH_GRAPHILE_CONCURRENCY"),
    maxPoolSize: int("BENCH_GRAPHILE_POOL"),
    pollInterval: int("BENCH_GRAPHILE_POLL_MS"),
    noHandleSignals: true,
    logger,
    taskList: { validate: async (payload) => onRun(payload) },
    preset: {
      worker: {
        ...(localQueue > 1 ? { localQueue: { size: localQueue } } : {}),
        completeJobBatchDelay: batchDelay,
        failJobBatchDelay: batchDelay
      }
    }
  })
  say("ready")
  const stop = () => void runner.stop().then(() => process.exit(0), () => process.exit(1))
  process.once("SIGTERM", stop)
  process.once("SIGINT", stop)
} else {
  throw new Error(`usage: worker.ts ours|graphile (got ${system})`)
}
