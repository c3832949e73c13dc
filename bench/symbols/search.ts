// bench:symbols' symbol-search scenario (SPEC section 10: a symbol search p99 ≤ 20 ms): our server from
// dist/ on a scratch database indexes the base corpus through the API (a repository served over git smart
// HTTP on loopback), then the corpus copied BENCH_SCALE times for another tenant; GET /api/v1/search/symbols
// is timed for every query of queries.ts, sequentially, at both sizes, then in a concurrent round. See
// bench/README.md, section "symbols".
import { readFileSync, writeFileSync } from "node:fs"
import { Agent, request } from "node:http"
import { relative } from "node:path"
import { startGitServer } from "../../test/utils/GitServer.js"
import { adminUrl, createScratchDatabase, dropOrphans, queryOnce } from "../lib/database.js"
import { intEnv } from "../lib/lifecycle.js"
import { runAutocannon } from "../lib/load.js"
import type { OurServer } from "../lib/ourServer.js"
import { startOurServer } from "../lib/ourServer.js"
import type { Server } from "../lib/processes.js"
import { HOST, loadAverage, tryPeakRssMiB } from "../lib/processes.js"
import type { Figure } from "../lib/report.js"
import { atLeast, atMost, figure } from "../lib/report.js"
import { serveCorpus } from "../lib/servedCorpus.js"
import { fmt } from "../lib/table.js"
import { checkNavigation, NAVIGATION } from "./navigation.js"
import type { Answer, QueryKind, SymbolQuery } from "./queries.js"
import { checkAnswers, describe, KINDS, pathOf, QUERIES } from "./queries.js"

const PREFIX = "kotadb_bench_symbols"
const REPS = intEnv("BENCH_SYMBOLS_REPS", 100)
const SCALE = intEnv("BENCH_SCALE", 4)
const CONCURRENT_SECONDS = intEnv("BENCH_SYMBOLS_CONCURRENT_SECONDS", 10)
/** The server's SEARCH_MAX_IN_FLIGHT_PER_USER default: more connections of one tenant would be turned away. */
const CONNECTIONS = 2
/** The floor: an authenticated read of one row on the same server (auth, rate limit, audit, one query). */
const FLOOR_PATH = "/api/v1/repositories"
/** The route's default page. */
const LIMIT = 20
const P99_BAR_MS = 20

export interface ScenarioContext {
  readonly root: string
  /** The base corpus, absolute paths by language (bench:symbols' extraction corpus). */
  readonly groups: ReadonlyArray<{ readonly language: string; readonly files: ReadonlyArray<string> }>
  readonly log: (line: string) => void
  readonly table: (rows: ReadonlyArray<ReadonlyArray<string>>, textColumns?: number) => void
  readonly onCleanup: (step: () => Promise<void>) => void
  /** Told of the server once it runs, so that a failed run can show its last output. */
  readonly started: (server: Server) => void
}

/** What the search figures' baseline column holds. */
export const SEARCH_BASELINE = `GET ${FLOOR_PATH} on the same server, interleaved (an authenticated read's floor)`

export interface ScenarioResult {
  readonly figures: ReadonlyArray<Figure>
  readonly problems: ReadonlyArray<string>
  /** The server's peak RSS (VmHWM) over the whole scenario, in MiB. */
  readonly serverPeakRssMiB: number | undefined
}

const percentile = (values: ReadonlyArray<number>, p: number) => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

/** Where a corpus file goes in the repository: node_modules' own layout, else its path under /usr. */
const repositoryPath = (root: string, path: string) =>
  path.startsWith(`${root}node_modules/`) ? relative(`${root}node_modules`, path) : path.replace(/^\/usr\//, "")

/** Sets a process's VmHWM back to its current RSS (Linux ≥ 4.0); false where that is not allowed. */
const resetPeakRssOf = (pid: number) => {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5")
    return true
  } catch {
    return false
  }
}

/** GETs over one keep-alive connection, timed from the request's start to its body's last byte. */
const makeClient = (port: number, key: string) => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const once = (path: string) =>
    new Promise<{ readonly ms: number; readonly status: number; readonly text: string }>((resolve, reject) => {
      const started = performance.now()
      const req = request({ host: HOST, port, path, agent, headers: { "x-api-key": key } }, (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (chunk: Buffer) => chunks.push(chunk))
        res.on("error", reject)
        res.on("end", () =>
          resolve({
            ms: performance.now() - started,
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString("utf8")
          }))
      })
      req.on("error", reject)
      req.end()
    })
  // The server closes a connection idle for a few seconds (while the oracle runs): sent again, once, untimed.
  return { get: (path: string) => once(path).catch(() => once(path)), close: () => agent.destroy() }
}

interface Timed {
  readonly query: SymbolQuery
  readonly path: string
  readonly matches: number
  readonly shown: number
  readonly times: ReadonlyArray<number>
}

interface SizeResult {
  readonly label: string
  readonly symbols: number
  readonly timed: ReadonlyArray<Timed>
  readonly passed: number
  readonly p50: number
  readonly p99: number
  readonly floor: { readonly p50: number; readonly p99: number }
  readonly byKind: ReadonlyMap<QueryKind, { readonly p50: number; readonly p99: number; readonly samples: number }>
  readonly concurrent: Awaited<ReturnType<typeof runAutocannon>> | undefined
  /** The hot-name navigation pages (navigation.ts), timed in the same rounds. */
  readonly navigation: {
    readonly p50: number
    readonly p99: number
    readonly passed: number
    /** The largest count of entries one of them pages through. */
    readonly largest: number
  }
}

export const symbolSearchScenario = async (context: ScenarioContext): Promise<ScenarioResult> => {
  const { log, onCleanup, root, table } = context
  const problems: Array<string> = []
  const admin = adminUrl()
  for (const stale of await dropOrphans(admin, PREFIX)) log(`dropped ${stale}, left by a killed run`)
  const db = await createScratchDatabase(admin, PREFIX)
  onCleanup(db.drop)
  const gitServer = await startGitServer()
  onCleanup(() => gitServer.close())

  const files = new Map<string, Buffer>()
  for (const group of context.groups) {
    for (const path of group.files) files.set(repositoryPath(root, path), readFileSync(path))
  }
  const bytes = [...files.values()].reduce((n, b) => n + b.length, 0)
  const base = await serveCorpus(gitServer, "bench/symbols", files, 1)
  const larger = SCALE > 1 ? await serveCorpus(gitServer, "bench/symbols-x", files, SCALE) : undefined

  const ours: OurServer = await startOurServer({ root, databaseUrl: db.url })
  onCleanup(() => ours.server.stop())
  context.started(ours.server)
  const pid = ours.server.pid

  /** Registers the corpus for a new tenant, waits for its index job, and reports it. */
  const tenant = async (label: string, email: string, gitUrl: string, fileCount: number) => {
    const key = await ours.createKey(email)
    const indexed = await ours.register(key, gitUrl)
    await queryOnce(db.url, "ANALYZE")
    const counted = await queryOnce<{ symbols: number }>(
      db.url,
      "SELECT count(*)::int AS symbols FROM code_symbols WHERE repository_id = $1",
      [indexed.repositoryId]
    )
    const symbols = counted[0]!.symbols
    log(
      `${label}: ${fmt(fileCount)} files indexed through the API in ${fmt(indexed.seconds, 1)} s, ${
        fmt(symbols)
      } symbols; job result ${JSON.stringify(indexed.result)}; server peak RSS so far ${
        fmt(tryPeakRssMiB(pid) ?? NaN, 1)
      } MiB; load ${fmt(loadAverage(), 1)}`
    )
    return { key, repositoryId: indexed.repositoryId, symbols }
  }

  const measure = async (label: string, t: Awaited<ReturnType<typeof tenant>>): Promise<SizeResult> => {
    const client = makeClient(ours.server.port, t.key)
    const prepared: Array<Timed & { readonly reference: string; readonly times: Array<number> }> = []
    let passed = 0
    for (const query of QUERIES) {
      const fail = (why: string) => problems.push(`symbol search, ${label}, ${describe(query)}: ${why}`)
      let path = pathOf(query, t.repositoryId)
      let answer = await client.get(path)
      const pages: Array<Answer> = []
      if (answer.status !== 200) {
        fail(`status ${answer.status} ${answer.text.slice(0, 200)}`)
        continue
      }
      pages.push(JSON.parse(answer.text) as Answer)
      if (query.secondPage === true) {
        const cursor = pages[0]!.next_cursor
        if (cursor === null) {
          fail("no second page")
          continue
        }
        path = pathOf(query, t.repositoryId, cursor)
        answer = await client.get(path)
        if (answer.status !== 200) {
          fail(`second page: status ${answer.status} ${answer.text.slice(0, 200)}`)
          continue
        }
        pages.push(JSON.parse(answer.text) as Answer)
      }
      const checked = await checkAnswers(db.url, [t.repositoryId], query, pages, LIMIT)
      for (const why of checked.problems.slice(0, 3)) fail(why)
      if (checked.problems.length === 0) passed++
      prepared.push({
        query,
        path,
        reference: answer.text,
        matches: checked.matches,
        shown: pages.at(-1)!.symbols.length,
        times: []
      })
    }
    const navigation: Array<{ label: string; path: string; total: number; times: Array<number> }> = []
    let navigationPassed = 0
    for (const query of NAVIGATION) {
      const path = query.path(t.repositoryId, LIMIT)
      const answer = await client.get(path)
      const fail = (why: string) => problems.push(`navigation, ${label}, ${query.label}: ${why}`)
      if (answer.status !== 200) {
        fail(`status ${answer.status} ${answer.text.slice(0, 200)}`)
        continue
      }
      const checked = await checkNavigation(db.url, t.repositoryId, query, JSON.parse(answer.text), LIMIT)
      for (const why of checked.problems) fail(why)
      if (checked.problems.length === 0) navigationPassed++
      navigation.push({ label: query.label, path, total: checked.total, times: [] })
    }
    log(
      `${label}: ${prepared.length} queries, ${REPS} rounds of one request each, sequential; load ${
        fmt(loadAverage(), 1)
      }`
    )
    // Round-robin, so that a burst of the machine's other work falls on every query alike, the floor included.
    let differing = 0
    const floor: Array<number> = []
    for (let round = 0; round < REPS; round++) {
      for (const p of prepared) {
        const { ms, status, text } = await client.get(p.path)
        if (status !== 200 || text !== p.reference) differing++
        p.times.push(ms)
      }
      for (const n of navigation) {
        const { ms, status } = await client.get(n.path)
        if (status !== 200) differing++
        n.times.push(ms)
      }
      const { ms, status } = await client.get(FLOOR_PATH)
      if (status !== 200) differing++
      floor.push(ms)
    }
    if (differing > 0) problems.push(`symbol search, ${label}: ${differing} timed answers differ from the checked one`)

    let concurrent: SizeResult["concurrent"]
    if (CONCURRENT_SECONDS > 0 && prepared.length > 0) {
      concurrent = await runAutocannon({
        url: `http://${HOST}:${ours.server.port}`,
        connections: CONNECTIONS,
        seconds: CONCURRENT_SECONDS,
        requests: prepared.map((p) => ({ method: "GET", path: p.path, headers: { "x-api-key": t.key } }))
      })
      const bad = concurrent.non2xx + concurrent.errors + concurrent.timeouts
      if (bad > 0) problems.push(`symbol search, ${label}, concurrent: ${bad} non-2xx answers or errors`)
    }
    client.close()

    const rows = [["kind", "query", "matches", "shown", "p50 ms", "p99 ms", "max ms"]]
    for (const p of prepared) {
      rows.push([
        p.query.kind,
        describe(p.query),
        fmt(p.matches),
        fmt(p.shown),
        fmt(percentile(p.times, 50), 2),
        fmt(percentile(p.times, 99), 2),
        fmt(Math.max(...p.times), 2)
      ])
    }
    table(rows, 2)
    const byKind = new Map<QueryKind, { p50: number; p99: number; samples: number }>()
    const kindRows = [["kind", "queries", "requests", "p50 ms", "p99 ms"]]
    for (const kind of KINDS) {
      const mine = prepared.filter((p) => p.query.kind === kind)
      const samples = mine.flatMap((p) => p.times)
      const stats = { p50: percentile(samples, 50), p99: percentile(samples, 99), samples: samples.length }
      byKind.set(kind, stats)
      kindRows.push([kind, fmt(mine.length), fmt(samples.length), fmt(stats.p50, 2), fmt(stats.p99, 2)])
    }
    const all = prepared.flatMap((p) => p.times)
    const [p50, p99] = [percentile(all, 50), percentile(all, 99)]
    kindRows.push(["all", fmt(prepared.length), fmt(all.length), fmt(p50, 2), fmt(p99, 2)])
    const floorStats = { p50: percentile(floor, 50), p99: percentile(floor, 99) }
    kindRows.push([`floor: GET ${FLOOR_PATH}`, "", fmt(floor.length), fmt(floorStats.p50, 2), fmt(floorStats.p99, 2)])
    table(kindRows, 1)
    const navigationRows = [["hot-name page", "entries in all", "p50 ms", "p99 ms", "max ms"]]
    for (const n of navigation) {
      navigationRows.push([
        n.label,
        fmt(n.total),
        fmt(percentile(n.times, 50), 2),
        fmt(percentile(n.times, 99), 2),
        fmt(Math.max(...n.times), 2)
      ])
    }
    const navigationTimes = navigation.flatMap((n) => n.times)
    const navigationStats = {
      p50: percentile(navigationTimes, 50),
      p99: percentile(navigationTimes, 99),
      passed: navigationPassed,
      largest: Math.max(0, ...navigation.map((n) => n.total))
    }
    navigationRows.push(["all", "", fmt(navigationStats.p50, 2), fmt(navigationStats.p99, 2), ""])
    table(navigationRows, 1)
    if (concurrent !== undefined) {
      log(
        `${label}, concurrent: ${CONNECTIONS} connections for ${CONCURRENT_SECONDS} s cycling through the queries: ${
          fmt(concurrent.reqPerSec)
        } req/s, p50 ${fmt(concurrent.p50Ms, 2)} ms, p99 ${fmt(concurrent.p99Ms, 2)} ms, non-2xx ${concurrent.non2xx}`
      )
    }
    log(`${label}: load ${fmt(loadAverage(), 1)}`)
    return {
      label,
      symbols: t.symbols,
      timed: prepared,
      passed,
      p50,
      p99,
      floor: floorStats,
      byKind,
      concurrent,
      navigation: navigationStats
    }
  }

  log(
    `\nsymbol search: our server from dist/, ${fmt(files.size)} files (${fmt(bytes / 1e6, 1)} MB) of the base corpus ` +
      `registered through the API${larger === undefined ? "" : `, then ${SCALE}× them for another tenant`}`
  )
  const tenantA = await tenant("base", "symbols-a@example.test", base.url, base.files)
  const peakAfterBase = tryPeakRssMiB(pid)
  const tenantB = larger === undefined
    ? undefined
    : await tenant(`${SCALE}×`, "symbols-b@example.test", larger.url, larger.files)
  const peakAfterIndex = tryPeakRssMiB(pid)
  const reset = resetPeakRssOf(pid)
  const baseResult = await measure("base", tenantA)
  const largerResult = tenantB === undefined ? undefined : await measure(`${SCALE}×`, tenantB)
  const peakWhileSearching = reset ? tryPeakRssMiB(pid) : undefined
  const serverPeakRssMiB = Math.max(peakAfterIndex ?? NaN, peakWhileSearching ?? 0)
  log(
    `server peak RSS: ${fmt(peakAfterBase ?? NaN, 1)} MiB after indexing the base corpus, ${
      fmt(peakAfterIndex ?? NaN, 1)
    } MiB after indexing both, ${
      peakWhileSearching === undefined ? "(could not reset VmHWM)" : `${fmt(peakWhileSearching, 1)} MiB while searching`
    }`
  )

  const results = [baseResult, ...(largerResult === undefined ? [] : [largerResult])]
  const notes =
    `${QUERIES.length} queries of ${KINDS.length} kinds, ${REPS} sequential requests each on one keep-alive ` +
    `connection, pages of ${LIMIT}`
  const figures: Array<Figure> = results.map((r) =>
    figure(`symbol search p99, ${r.label} corpus (${fmt(r.symbols)} symbols)`, "ms", r.p99, r.floor.p99, {
      bar: atMost(P99_BAR_MS),
      notes
    })
  )
  figures.push(
    ...results.map((r) => figure(`symbol search p50, ${r.label} corpus`, "ms", r.p50, r.floor.p50, { notes }))
  )
  if (largerResult !== undefined) {
    figures.push(
      figure(`symbol search p99 at ${SCALE}× the symbols / 1×`, "ratio", largerResult.p99 / baseResult.p99, 1)
    )
    const [worstKind, worst] = [...largerResult.byKind].reduce((a, b) => (b[1].p99 > a[1].p99 ? b : a))
    figures.push(
      figure(`symbol search worst query kind p99, ${SCALE}×`, "ms", worst.p99, NaN, { notes: `${worstKind}` })
    )
  }
  for (const r of results) {
    if (r.concurrent !== undefined) {
      figures.push(
        figure(`symbol search p99, ${CONNECTIONS} concurrent connections, ${r.label}`, "ms", r.concurrent.p99Ms, NaN, {
          notes: `${fmt(r.concurrent.reqPerSec)} req/s over ${CONCURRENT_SECONDS} s`
        })
      )
    }
  }
  const navigationNotes = `${NAVIGATION.map((n) => n.label).join("; ")}: first pages of ${LIMIT}, in the same rounds`
  figures.push(...results.map((r) =>
    figure(
      `hot-name navigation page p99, ${r.label} corpus (up to ${fmt(r.navigation.largest)} entries a name)`,
      "ms",
      r.navigation.p99,
      r.floor.p99,
      { notes: navigationNotes }
    )
  ))
  if (largerResult !== undefined) {
    figures.push(
      figure(
        `hot-name navigation page p50 at ${SCALE}× the rows / 1×`,
        "ratio",
        largerResult.navigation.p50 / baseResult.navigation.p50,
        1,
        { notes: "SPEC section 12: a page costs its own size" }
      )
    )
  }
  figures.push(
    figure(
      "hot-name navigation pages whose answers pass the checks",
      "queries",
      results.reduce((n, r) => n + r.navigation.passed, 0),
      results.length * NAVIGATION.length,
      { bar: atLeast(1, "ratio"), notes: "200, resolution name-match, a full page and a cursor when there are more" }
    )
  )
  const checks = results.length * QUERIES.length
  figures.push(
    figure(
      "symbol search queries whose answers pass the checks",
      "queries",
      results.reduce((n, r) => n + r.passed, 0),
      checks,
      {
        bar: atLeast(1, "ratio"),
        notes: "200, resolution name-match, every name matching, filters applied, exact names first, the oracle's page"
      }
    ),
    figure("peak RSS of the server (indexing both corpora, searching)", "MiB", serverPeakRssMiB, NaN, {
      notes: `${fmt(peakAfterBase ?? NaN, 1)} MiB after indexing the base corpus; ${
        peakWhileSearching === undefined ? "" : `${fmt(peakWhileSearching, 1)} MiB while searching`
      }`
    })
  )
  return { figures, problems, serverPeakRssMiB }
}
