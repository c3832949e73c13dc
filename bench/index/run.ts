// npm run bench:index: files/s and MB/s of a full index and of an incremental update of 1 % of the files,
// ours (the real Indexer from dist/, in process, fetching from a git smart-HTTP server on loopback) against a bare
// baseline that reads the same files from disk and bulk-loads them with one COPY, side by side in one run.
// See bench/README.md, section "index".
//
// Env (all optional): BENCH_DATABASE_URL (a loopback Postgres; default postgres://postgres@127.0.0.1:5432/postgres),
// BENCH_CORPUS (a directory; default node_modules/effect), BENCH_ROUNDS (2),
// BENCH_BASELINE=copy|unnest (copy: one COPY FROM STDIN, the default; unnest: INSERT … unnest batches of 1,000),
// and for profiling only (never the headline figures): BENCH_NO_TRGM=1 (the scratch database's indexed_files
// without its trigram index, for both systems), BENCH_RESULT_FILE (a file: the figures as JSON,
// bench/lib/report.ts; `npm run bench` sets it).
import * as ConfigProvider from "effect/ConfigProvider"
import type * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type { RuntimeFiber } from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { spawnSync } from "node:child_process"
import { readdir, readFile } from "node:fs/promises"
import { cpus } from "node:os"
import { join, relative, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import pg from "pg"
import type { JobId } from "../../src/domain/Job.js"
import type { RepositoryId } from "../../src/domain/Repository.js"
import type * as EmbeddedPostgres from "../../src/layers/EmbeddedPostgres.js"
import type * as Indexing from "../../src/layers/Indexing.js"
import type * as Sql from "../../src/layers/Sql.js"
import type * as AppConfigModule from "../../src/services/AppConfig.js"
import type * as GitModule from "../../src/services/Git.js"
import type * as IndexerModule from "../../src/services/Indexer.js"
import type * as IndexedFiles from "../../src/services/stores/IndexedFileStore.js"
import type * as Jobs from "../../src/services/stores/JobStore.js"
import type * as Repositories from "../../src/services/stores/RepositoryStore.js"
import type { GitServer } from "../../test/utils/GitServer.js"
import { startGitServer } from "../../test/utils/GitServer.js"
import { adminUrl, createScratchDatabase, dropOrphans } from "../lib/database.js"
import { intEnv, makeLifecycle } from "../lib/lifecycle.js"
import { cpuSeconds, ensureBuilt, loadAverage, machineCpu, peakRssMiB, resetPeakRss } from "../lib/processes.js"
import { atLeast, figure, peakRss, writeReport } from "../lib/report.js"
import { runMain } from "../lib/runMain.js"
import { fmt } from "../lib/table.js"
import type { Row } from "./baseline.js"
import { copyRows, insertRows, isIndexable, readRows, UNNEST_BATCH, upsertRows } from "./baseline.js"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const TIME_LIMIT_MS = 170_000
/** A further round starts only if one more round as long as the longest so far still ends before this. */
const ROUNDS_BUDGET_MS = 140_000
const PREFIX = "kotadb_bench_index"
const REPOSITORY = "bench/corpus"

const ROUNDS = intEnv("BENCH_ROUNDS", 2)
const CORPUS = resolve(ROOT, process.env.BENCH_CORPUS || "node_modules/effect")
const BASELINE = process.env.BENCH_BASELINE || "copy"
if (BASELINE !== "copy" && BASELINE !== "unnest") {
  throw new Error(`BENCH_BASELINE must be copy or unnest, not ${BASELINE}`)
}
const NO_TRGM = process.env.BENCH_NO_TRGM === "1"
const BASELINE_NAME = BASELINE === "copy"
  ? "one COPY indexed_files FROM STDIN, text format, through pg's own protocol handling (pg-copy-streams not installed)"
  : `INSERT … SELECT FROM unnest(…) batches of ${UNNEST_BATCH} in one transaction (pg-copy-streams not installed)`

const lifecycle = makeLifecycle(TIME_LIMIT_MS)
const { cleanup, log, onCleanup, table, warn } = lifecycle

// ---------------------------------------------------------------------------------------------------
// The corpus: every regular file under CORPUS, committed to a served repository, then 1 % changed.
// ---------------------------------------------------------------------------------------------------

const listFiles = async (dir: string): Promise<Array<string>> => {
  const out: Array<string> = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...await listFiles(path))
    else if (entry.isFile()) out.push(path) // symlinks and the like are not indexed
  }
  return out
}

interface Corpus {
  readonly files: Map<string, Buffer>
  readonly bytes: number
  /** Paths the indexer indexes (text, at most 1 MiB), sorted. */
  readonly indexable: Array<string>
  readonly indexableBytes: number
  /** 1 % of the indexable paths, spread evenly, each with one line appended in the second commit. */
  readonly changed: Array<string>
  readonly changedBytes: number
  readonly first: string
  readonly second: string
  /** The served repository's work tree, holding the second commit's files. */
  readonly workTree: string
  readonly url: string
}

const buildCorpus = async (server: GitServer): Promise<Corpus> => {
  const paths = (await listFiles(CORPUS)).map((path) => relative(CORPUS, path)).sort()
  if (paths.length === 0) throw new Error(`no files under ${CORPUS}`)
  const files = new Map<string, Buffer>()
  for (const path of paths) files.set(path, await readFile(join(CORPUS, path)))
  const bytes = [...files.values()].reduce((sum, b) => sum + b.length, 0)
  const indexable = paths.filter((path) => isIndexable(files.get(path)!))
  const indexableBytes = indexable.reduce((sum, path) => sum + files.get(path)!.length, 0)

  const repo = await server.createRepository(REPOSITORY)
  const first = await repo.commit(Object.fromEntries(files), { message: "corpus" })
  const tree = await repo.tree(first)
  if (tree.length !== paths.length) {
    throw new Error(`the commit holds ${tree.length} files, the corpus ${paths.length} (a .gitignore in the corpus?)`)
  }

  const count = Math.max(1, Math.round(indexable.length / 100))
  const changed = Array.from(
    { length: count },
    (_, k) => indexable[Math.floor(((k + 0.5) * indexable.length) / count)]!
  )
  const edits: Record<string, Buffer> = {}
  for (const [k, path] of changed.entries()) {
    const old = files.get(path)!
    const newline = old.length === 0 || old[old.length - 1] === 10 ? "" : "\n"
    edits[path] = Buffer.concat([old, Buffer.from(`${newline}// kotadb bench: changed line ${k}\n`)])
  }
  const second = await repo.commit(edits, { message: "change 1 %" })
  const changedBytes = changed.reduce((sum, path) => sum + edits[path]!.length, 0)

  // The GitServer commits from a work tree at <directory>/work/<name>; the baseline reads the changed
  // files there. Check that it holds the second commit's content.
  const workTree = join(server.directory, "work", REPOSITORY)
  const probe = await readFile(join(workTree, changed[0]!)).catch(() => undefined)
  if (probe === undefined || !probe.equals(edits[changed[0]!]!)) {
    throw new Error(`the git server's work tree is not at ${workTree} (test/utils/GitServer.ts changed?)`)
  }
  return { files, bytes, indexable, indexableBytes, changed, changedBytes, first, second, workTree, url: repo.url }
}

// ---------------------------------------------------------------------------------------------------
// Ours: the real Indexer over our SQL layer (migrations included), compiled, in this process.
// ---------------------------------------------------------------------------------------------------

/**
 * Our modules as production runs them: compiled, from dist/ (built first when older than the sources). From
 * the sources the indexer's extractor processes would load through tsx, which takes them about twice as long
 * to start.
 */
const loadOurs = async () => {
  if (ensureBuilt(ROOT)) warn("built dist/")
  const load = <M>(path: string) => import(pathToFileURL(join(ROOT, "dist/src", path)).href) as Promise<M>
  return {
    ...(await load<typeof EmbeddedPostgres>("layers/EmbeddedPostgres.js")),
    ...(await load<typeof Indexing>("layers/Indexing.js")),
    ...(await load<typeof Sql>("layers/Sql.js")),
    ...(await load<typeof AppConfigModule>("services/AppConfig.js")),
    ...(await load<typeof GitModule>("services/Git.js")),
    ...(await load<typeof IndexerModule>("services/Indexer.js")),
    ...(await load<typeof IndexedFiles>("services/stores/IndexedFileStore.js")),
    ...(await load<typeof Jobs>("services/stores/JobStore.js")),
    ...(await load<typeof Repositories>("services/stores/RepositoryStore.js"))
  }
}
type Ours = Awaited<ReturnType<typeof loadOurs>>

const makeOurs = (
  { AppConfig, DatabaseUrl, Git, IndexedFileStore, IndexingLive, JobStore, RepositoryStore, SqlLive }: Ours,
  databaseUrl: string,
  symbolsWorkers?: number
) => {
  const env = new Map([
    ["DATABASE_URL", databaseUrl],
    ["DATABASE_MAX_CONNECTIONS", "10"],
    ["GIT_ALLOW_PRIVATE_HOSTS", "true"],
    ["SECRETS_ENCRYPTION_KEY", Buffer.alloc(32, 1).toString("base64")],
    ["KOTADB_WEBHOOK_BASE_URL", "http://127.0.0.1"],
    ["LOG_LEVEL", "warning"],
    ...(symbolsWorkers === undefined ? [] : [["SYMBOLS_WORKERS", String(symbolsWorkers)] as const])
  ])
  return ManagedRuntime.make(
    IndexingLive.pipe(
      Layer.provideMerge(
        Layer.mergeAll(Git.Default, RepositoryStore.Default, IndexedFileStore.Default, JobStore.Default)
      ),
      Layer.provideMerge(SqlLive),
      Layer.provide(Layer.succeed(DatabaseUrl, Redacted.make(databaseUrl))),
      Layer.provideMerge(AppConfig.Default.pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(env))))),
      Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
    )
  )
}

// ---------------------------------------------------------------------------------------------------
// Measurements
// ---------------------------------------------------------------------------------------------------

interface Measured {
  readonly system: "ours" | "ours, text only" | "baseline"
  readonly kind: "full" | "incremental"
  readonly round: number
  readonly files: number
  readonly bytes: number
  readonly ms: number
  /** ours: fetch, ls-tree, cat-file up to its progress event; baseline: reading and hashing the files. */
  readonly readMs: number
  /** The rest: ours' write transaction; the baseline's COPY or upsert (with its encoding). */
  readonly writeMs: number
  readonly nodeCpuMs: number
  readonly childCpuMs: number
  readonly pgCpuMs: number
  readonly machineBusy: number
  readonly httpRequests: number
}

interface Sample {
  readonly t: number
  readonly node: NodeJS.CpuUsage
  readonly child: number
  readonly pg: Map<number, number>
  readonly machine: { busy: number; total: number }
  readonly requests: number
}

const CLOCK_TICKS = (() => {
  const ticks = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout)
  return Number.isFinite(ticks) && ticks > 0 ? ticks : 100
})()

/** CPU of the children this process (and its children, transitively) waited for: the git commands. */
const childCpuMs = async () => {
  const stat = await readFile("/proc/self/stat", "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  // cutime and cstime are fields 16 and 17 of the whole line.
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS
}

const problems: Array<string> = []

const main = async () => {
  const startedAt = Date.now()
  const admin = adminUrl()
  for (const stale of await dropOrphans(admin, PREFIX)) warn(`dropped ${stale}, left by a killed run`)
  const db = await createScratchDatabase(admin, PREFIX)
  onCleanup(db.drop)

  const server = await startGitServer()
  onCleanup(server.close)
  const corpusStart = Date.now()
  const corpus = await buildCorpus(server)
  const corpusMs = Date.now() - corpusStart

  const modules = await loadOurs()
  const runtime = makeOurs(modules, db.url)
  // Interrupting a running index kills its git child and removes its workspace before the pool closes.
  let running: RuntimeFiber<unknown, unknown> | undefined
  onCleanup(async () => {
    if (running !== undefined) await runtime.runPromise(Fiber.interrupt(running))
    await runtime.dispose()
  })
  const indexer = await runtime.runPromise(modules.Indexer) // builds the layers: migrates the scratch database
  // The same indexer with code intelligence off (SYMBOLS_WORKERS=0): what extraction costs.
  const textRuntime = makeOurs(modules, db.url, 0)
  onCleanup(() => textRuntime.dispose())
  const textIndexer = await textRuntime.runPromise(modules.Indexer)
  const runOurs = async <A, E>(effect: Effect.Effect<A, E, never>, on = runtime) => {
    const fiber = on.runFork(effect)
    running = fiber
    try {
      return await on.runPromise(Fiber.join(fiber))
    } finally {
      running = undefined
    }
  }

  const client = new pg.Client({ connectionString: db.url, application_name: "kotadb-bench-index" })
  await client.connect()
  onCleanup(() => client.end())
  const one = async <R extends pg.QueryResultRow>(text: string, values: Array<unknown> = []) =>
    (await client.query<R>(text, values)).rows[0]!

  const { id: userId } = await one<{ id: string }>(
    "INSERT INTO auth.users (email) VALUES ('bench-index@example.test') RETURNING id"
  )
  if (NO_TRGM) await client.query("DROP INDEX indexed_chunks_search_idx")
  const { v: pgVersion } = await one<{ v: string }>("SELECT current_setting('server_version') AS v")

  /** The clock is read last before a measurement and first after it, so that sampling stays outside it. */
  const sample = async (when: "before" | "after"): Promise<Sample> => {
    const first = performance.now()
    const node = process.cpuUsage()
    const { rows } = await client.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
    )
    const pgCpu = new Map<number, number>()
    for (const { pid } of rows) {
      try {
        pgCpu.set(pid, cpuSeconds(pid))
      } catch {
        // gone
      }
    }
    return {
      t: when === "after" ? first : performance.now(),
      node,
      child: await childCpuMs(),
      pg: pgCpu,
      machine: machineCpu(),
      requests: server.requests
    }
  }
  const since = (a: Sample, b: Sample) => {
    return {
      ms: b.t - a.t,
      nodeCpuMs: (b.node.user - a.node.user + b.node.system - a.node.system) / 1000,
      childCpuMs: b.child - a.child,
      pgCpuMs: 1000 * [...b.pg].reduce((sum, [pid, cpu]) => sum + cpu - (a.pg.get(pid) ?? 0), 0),
      machineBusy: (100 * (b.machine.busy - a.machine.busy)) / (b.machine.total - a.machine.total),
      httpRequests: b.requests - a.requests
    }
  }

  /** Each system's runs start from an empty table: no repository, no indexed file, a checkpoint done. */
  const freshRepository = async () => {
    await client.query("TRUNCATE repositories CASCADE")
    await client.query("CHECKPOINT")
    const { id } = await one<{ id: string }>(
      `INSERT INTO repositories (user_id, name, git_url, provider, default_branch)
       VALUES ($1, $2, $3, 'generic', 'main') RETURNING id`,
      [userId, REPOSITORY, corpus.url]
    )
    return id
  }
  /** What a repository's rows hold, but the language (the baseline leaves it NULL). */
  const digest = (repositoryId: string) =>
    one<{ n: number; bytes: string; digest: string }>(
      `SELECT count(*)::int AS n, coalesce(sum(size_bytes), 0)::text AS bytes,
              md5(string_agg(path || E'\\t' || blob_sha || E'\\t' || size_bytes || E'\\t' || line_count
                             || E'\\t' || md5(coalesce((
                               SELECT string_agg(c.content, '' ORDER BY c.chunk_no) FROM indexed_chunks c
                               WHERE c.repository_id = f.repository_id AND c.path = f.path), '')),
                             E'\\n' ORDER BY path)) AS digest
       FROM indexed_files f WHERE repository_id = $1`,
      [repositoryId]
    )
  const digests = new Map<string, string>()
  const checkDigest = async (system: string, kind: string, repositoryId: string, expectedFiles: number) => {
    const d = await digest(repositoryId)
    if (d.n !== expectedFiles) {
      problems.push(`${system} ${kind}: ${d.n} rows in indexed_files, expected ${expectedFiles}`)
    }
    const seen = digests.get(kind)
    if (seen === undefined) digests.set(kind, d.digest)
    else if (seen !== d.digest) problems.push(`${system} ${kind}: its rows differ from the other system's`)
  }

  const runs: Array<Measured> = []
  const record = (m: Measured) => {
    runs.push(m)
    log(
      `round ${m.round} ${m.kind.padEnd(11)} ${m.system.padEnd(8)} ${fmt(m.files).padStart(5)} files ${
        fmt(m.bytes / 1e6, 2).padStart(6)
      } MB in ${fmt(m.ms).padStart(6)} ms (read ${fmt(m.readMs)} + write ${fmt(m.writeMs)}): ${
        fmt((1000 * m.files) / m.ms).padStart(6)
      } files/s ${fmt(m.bytes / 1e3 / m.ms, 2).padStart(6)} MB/s; CPU ms: node ${fmt(m.nodeCpuMs)}, git ${
        fmt(m.childCpuMs)
      }, PG ${fmt(m.pgCpuMs)}; machine busy ${fmt(m.machineBusy)} %${
        m.system === "ours" ? `, ${m.httpRequests} HTTP requests` : ""
      }`
    )
  }

  const newJob = async (repositoryId: string, type: string) =>
    (await one<{ id: string }>(
      `INSERT INTO indexing_jobs (repository_id, job_type, status, locked_by, locked_at, attempt, started_at)
       VALUES ($1, $2, 'in_progress', 'bench', now(), 1, now()) RETURNING id`,
      [repositoryId, type]
    )).id
  const finishJob = (jobId: string, result: unknown) =>
    client.query(
      `UPDATE indexing_jobs SET status = 'completed', finished_at = now(), locked_by = NULL, locked_at = NULL,
         result = $2 WHERE id = $1`,
      [jobId, JSON.stringify(result)]
    )
  /** The job's progress event: the indexer writes it once it has fetched and read, before writing. */
  const progressAt = async (jobId: string) => {
    const { rows } = await client.query<{ at: string }>(
      `SELECT (extract(epoch FROM created_at) * 1000)::text AS at FROM indexing_job_events
       WHERE job_id = $1 AND event_type = 'progress'`,
      [jobId]
    )
    return rows.length === 1 ? Number(rows[0]!.at) : Number.NaN
  }

  const oursWith = (system: "ours" | "ours, text only") => async (round: number) => {
    const textOnly = system !== "ours"
    const repositoryId = await freshRepository()
    for (const kind of ["full", "incremental"] as const) {
      const jobId = await newJob(repositoryId, kind === "full" ? "full_index" : "incremental_update")
      const before = await sample("before")
      const wallStart = Date.now()
      const result = await runOurs(
        (textOnly ? textIndexer : indexer).index({
          jobId: jobId as JobId,
          repositoryId: repositoryId as RepositoryId,
          ...(kind === "full" ? { mode: "full", commit: corpus.first } : { mode: "incremental", commit: corpus.second })
        }),
        textOnly ? textRuntime : runtime
      ) as Record<string, unknown>
      const wallEnd = Date.now()
      const after = await sample("after")
      await finishJob(jobId, result)
      const readMs = (await progressAt(jobId)) - wallStart
      if (Number.isNaN(readMs)) {
        problems.push(`${system} ${kind} round ${round}: no progress event; result ${JSON.stringify(result)}`)
      }
      const expected = kind === "full"
        ? { mode: "full", commit: corpus.first, files_written: corpus.indexable.length, files_deleted: 0 }
        : { mode: "incremental", commit: corpus.second, files_written: corpus.changed.length, files_deleted: 0 }
      for (const [key, value] of Object.entries(expected)) {
        if (result[key] !== value) {
          problems.push(`${system} ${kind} round ${round}: ${key} is ${JSON.stringify(result[key])}, expected ${value}`)
        }
      }
      const bytes = Number(result.bytes_written)
      const expectedBytes = kind === "full" ? corpus.indexableBytes : corpus.changedBytes
      if (bytes !== expectedBytes) {
        problems.push(`${system} ${kind} round ${round}: bytes_written ${bytes}, expected ${expectedBytes}`)
      }
      if (!textOnly && !(Number(result.symbols_extracted) > 0)) {
        problems.push(`${system} ${kind} round ${round}: no symbols extracted; result ${JSON.stringify(result)}`)
      }
      await checkDigest(system, kind, repositoryId, corpus.indexable.length)
      const s = since(before, after)
      record({
        system,
        kind,
        round,
        files: Number(result.files_written),
        bytes,
        readMs,
        writeMs: wallEnd - wallStart - readMs,
        ...s
      })
    }
  }

  const baseline = async (round: number) => {
    const repositoryId = await freshRepository()
    for (const kind of ["full", "incremental"] as const) {
      const before = await sample("before")
      let rows: Array<Row>
      let written: number
      let readMs: number
      if (kind === "full") {
        rows = await readRows(CORPUS, corpus.indexable)
        readMs = performance.now() - before.t
        written = BASELINE === "copy"
          ? await copyRows(client, repositoryId, rows)
          : await insertRows(client, repositoryId, rows)
      } else {
        rows = await readRows(corpus.workTree, corpus.changed)
        readMs = performance.now() - before.t
        written = await upsertRows(client, repositoryId, rows)
      }
      const after = await sample("after")
      const expected = kind === "full" ? corpus.indexable.length : corpus.changed.length
      if (written !== expected) {
        problems.push(`baseline ${kind} round ${round}: wrote ${written} rows, expected ${expected}`)
      }
      await checkDigest("baseline", kind, repositoryId, corpus.indexable.length)
      const s = since(before, after)
      record({
        system: "baseline",
        kind,
        round,
        files: written,
        bytes: rows.reduce((sum, r) => sum + r.sizeBytes, 0),
        readMs,
        writeMs: s.ms - readMs,
        ...s
      })
    }
  }

  log(
    `index bench: corpus ${relative(ROOT, CORPUS) || CORPUS}: ${fmt(corpus.files.size)} files, ${
      fmt(corpus.bytes / 1e6, 1)
    } MB (${fmt(corpus.indexable.length)} files, ${fmt(corpus.indexableBytes / 1e6, 1)} MB indexable: text, ≤ 1 MiB); `
      + `committed and served over git smart HTTP on loopback in ${fmt(corpusMs / 1000, 1)} s; the second commit `
      + `appends a line to ${corpus.changed.length} files (1 %, ${fmt(corpus.changedBytes / 1e6, 2)} MB)`
  )
  log(
    "ours: Indexer.index in process, from dist/ (git fetch --depth=1, ls-tree, cat-file --batch, one write transaction)"
  )
  log(`baseline: reads the files from disk, sha1/lines per file; full: ${BASELINE_NAME}; incremental: one upsert`)
  log(
    `${ROUNDS} rounds, order alternating, best of each reported; each system's full index starts from an empty `
      + `indexed_files (TRUNCATE, CHECKPOINT); MB = 10^6 bytes`
  )
  log(
    `machine: ${cpus().length} cores, Node ${process.versions.node}, PostgreSQL ${pgVersion}; 1-min load average ${
      fmt(loadAverage(), 2)
    }`
  )

  if (NO_TRGM) log("BENCH_NO_TRGM=1: indexed_files WITHOUT its trigram index, for both systems (profiling only)")

  // Both systems run in this process: its peak RSS is reset before each system's turn and read after it.
  const peaks = new Map<string, number>()
  let perTurn = true
  const ours = oursWith("ours")
  const oursText = oursWith("ours, text only")
  const turn = async (system: typeof ours, round: number) => {
    perTurn = resetPeakRss() && perTurn
    await system(round)
    const name = system === ours ? "ours" : system === oursText ? "ours, text only" : "baseline"
    peaks.set(name, Math.max(peaks.get(name) ?? 0, peakRssMiB(process.pid)))
  }

  let longestRoundMs = 0
  let rounds = 0
  for (let round = 1; round <= ROUNDS; round++) {
    const roundStart = Date.now()
    if (round > 1 && roundStart - startedAt + longestRoundMs > ROUNDS_BUDGET_MS) {
      log(
        `round ${round} and later skipped: another ${fmt(longestRoundMs / 1000)} s round would not fit the time limit`
      )
      break
    }
    rounds = round
    const order = round % 2 === 1 ? [ours, oursText, baseline] : [baseline, oursText, ours]
    for (const system of order) await turn(system, round)
    longestRoundMs = Math.max(longestRoundMs, Date.now() - roundStart)
  }

  const best = (system: string, kind: string) =>
    runs.filter((r) => r.system === system && r.kind === kind).reduce((a, b) => (b.ms < a.ms ? b : a))
  const rows: Array<Array<string>> = [[
    "figure",
    "files",
    "MB",
    "ms",
    "files/s",
    "MB/s",
    "read ms",
    "write ms",
    "node CPU ms",
    "git CPU ms",
    "PG CPU ms"
  ]]
  const ratios: Record<string, number> = {}
  for (const kind of ["full", "incremental"] as const) {
    for (const system of ["ours", "ours, text only", "baseline"] as const) {
      const m = best(system, kind)
      rows.push([
        `${kind} ${system}`,
        fmt(m.files),
        fmt(m.bytes / 1e6, 2),
        fmt(m.ms),
        fmt((1000 * m.files) / m.ms),
        fmt(m.bytes / 1e3 / m.ms, 2),
        fmt(m.readMs),
        fmt(m.writeMs),
        fmt(m.nodeCpuMs),
        fmt(m.childCpuMs),
        fmt(m.pgCpuMs)
      ])
    }
    const o = best("ours", kind)
    const b = best("baseline", kind)
    ratios[kind] = (o.files / o.ms) / (b.files / b.ms)
    rows.push([
      `${kind} ratio ours/baseline`,
      "",
      "",
      "",
      fmt(ratios[kind], 3),
      fmt((o.bytes / o.ms) / (b.bytes / b.ms), 3),
      ...Array<string>(5).fill("")
    ])
  }
  const extractionRatio: Record<string, number> = {}
  for (const kind of ["full", "incremental"] as const) {
    const o = best("ours", kind)
    const t = best("ours, text only", kind)
    extractionRatio[kind] = (o.files / o.ms) / (t.files / t.ms)
    rows.push([
      `${kind} ratio ours/text only`,
      "",
      "",
      "",
      fmt(extractionRatio[kind], 3),
      fmt((o.bytes / o.ms) / (t.bytes / t.ms), 3),
      ...Array<string>(5).fill("")
    ])
  }
  log(`best of ${rounds} round${rounds === 1 ? "" : "s"} (the shortest run of each):`)
  table(rows)
  const processPeak = peakRssMiB(process.pid)
  log(
    perTurn
      ? `peak RSS MiB of the bench process (VmHWM, reset before each system's turn): during ours' turns ${
        fmt(peaks.get("ours")!, 1)
      }, during the text-only turns ${fmt(peaks.get("ours, text only")!, 1)}, during the baseline's ${
        fmt(peaks.get("baseline")!, 1)
      } (process.resourceUsage().maxRSS ${
        fmt(process.resourceUsage().maxRSS / 1024, 1)
      } over the whole run, corpus and git server included)`
      : `peak RSS MiB of the bench process (VmHWM; /proc/self/clear_refs not writable, so one figure for both `
        + `systems): ${fmt(processPeak, 1)}`
  )

  await cleanup()
  log(`total time ${((Date.now() - startedAt) / 1000).toFixed(0)} s`)
  for (const problem of problems) log(`PROBLEM: ${problem}`)
  const filesPerSecond = (system: string, kind: string) => {
    const m = best(system, kind)
    return (1000 * m.files) / m.ms
  }
  const shortest = `the shortest of ${rounds} round(s)`
  writeReport({
    bench: "index",
    baseline: `bare pg, files read from disk; full index: ${BASELINE === "copy" ? "one COPY" : "unnest batches"}`,
    figures: [
      figure("full index files/s", "files/s", filesPerSecond("ours", "full"), filesPerSecond("baseline", "full"), {
        notes: `${corpus.indexable.length} files, ${fmt(corpus.indexableBytes / 1e6, 1)} MB; ${shortest}`
      }),
      figure(
        "update of 1 % files/s",
        "files/s",
        filesPerSecond("ours", "incremental"),
        filesPerSecond("baseline", "incremental"),
        { notes: `${corpus.changed.length} of ${corpus.indexable.length} files changed; ${shortest}` }
      ),
      figure(
        "full index with symbols / text only",
        "files/s",
        filesPerSecond("ours", "full"),
        filesPerSecond("ours, text only", "full"),
        { bar: atLeast(0.7, "ratio"), notes: "issue 19: code intelligence costs a full index at most 30 %" }
      )
    ],
    peakRssMiB: perTurn
      ? peakRss(
        peaks.get("ours"),
        peaks.get("baseline"),
        "both systems run in the bench process, so these are its VmHWM during each system's turns (reset before "
          + "each turn through /proc/self/clear_refs): they include the process's own base (Node, tsx, the loaded "
          + "modules, the corpus, the git server), but not the git children"
      )
      : peakRss(processPeak, undefined, "VmHWM of the bench process, which runs both systems"),
    problems
  })
  log(`index files/s ratio ours/baseline: ${ratios.full!.toFixed(2)}`)
  log(`full index with symbols / text only: ${extractionRatio.full!.toFixed(2)} (bar 0.7)`)
  return problems.length === 0 ? 0 : 1
}

runMain("index", lifecycle, main)
