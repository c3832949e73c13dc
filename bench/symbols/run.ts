// npm run bench:symbols: symbol extraction (SPEC section 10) against universal-ctags on the same real
// files, side by side in one run: files/s and MB/s of both and their ratio, CPU ms per MB of both and their ratio
// (from /proc: a busy machine moves it less than seconds), the peak RSS of our extractor processes (the largest
// child, and the pool's parent), and per language the share of ctags'
// functions, classes, methods and types that we also report at the same line. Then a larger corpus (growth). Then symbol
// search over HTTP on our server, the base corpus indexed through the API (search.ts). See bench/README.md,
// section "symbols".
//
// Env (all optional): SYMBOLS_WORKERS (extractor processes, default 1, as the server's default),
// BENCH_SYMBOLS_BATCH (files per extract call, default 50), BENCH_SYMBOLS_ONLY (extraction or search: that part alone),
// BENCH_SYMBOLS_REPS (sequential requests per search query, default 100), BENCH_SCALE (copies of the corpus
// for search's growth, default 4), BENCH_SYMBOLS_CONCURRENT_SECONDS (the concurrent search round, default 10),
// BENCH_DATABASE_URL (a loopback Postgres; default postgres://postgres@127.0.0.1:5432/postgres),
// BENCH_RESULT_FILE (a file: the figures as JSON, bench/lib/report.ts).
import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { compileBaseline } from "../lib/compileBaseline.js"
import { intEnv, makeLifecycle } from "../lib/lifecycle.js"
import type { Server } from "../lib/processes.js"
import { ensureBuilt, loadAverage } from "../lib/processes.js"
import type { Figure } from "../lib/report.js"
import { atLeast, atMost, figure, peakRss, writeReport } from "../lib/report.js"
import { runMain } from "../lib/runMain.js"
import { fmt } from "../lib/table.js"
import { SEARCH_BASELINE, symbolSearchScenario } from "./search.js"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const TIME_LIMIT_MS = 1_800_000
const WORKERS = intEnv("SYMBOLS_WORKERS", 1)
const BATCH = intEnv("BENCH_SYMBOLS_BATCH", 50)
/** The server's default SYMBOLS_MAX_FILE_SIZE: larger files are skipped by ours, so by ctags too. */
const MAX_FILE_SIZE = 1024 * 1024
const RSS_BAR_MIB = 300
const AGREEMENT_BAR = 90

const lifecycle = makeLifecycle(TIME_LIMIT_MS)
const { log, onCleanup, table, warn } = lifecycle
const servers: Array<Server> = []

// ---------------------------------------------------------------------------------------------------
// The corpus: real files already on the machine, by language
// ---------------------------------------------------------------------------------------------------

interface Group {
  readonly language: string
  /** universal-ctags' name for the language (--language-force). */
  readonly ctags: string
  readonly files: ReadonlyArray<string>
}

const walk = (dir: string, keep: (path: string) => boolean, skip: (dir: string) => boolean = () => false) => {
  const out: Array<string> = []
  const visit = (d: string) => {
    let entries
    try {
      entries = readdirSync(d, { withFileTypes: true })
    } catch {
      return
    }
    for (const entry of entries) {
      const path = join(d, entry.name)
      if (entry.isDirectory() && !skip(path)) visit(path)
      else if (entry.isFile() && keep(path)) out.push(path)
    }
  }
  visit(dir)
  return out.sort()
}

const small = (path: string) => statSync(path).size <= MAX_FILE_SIZE
const ext = (...extensions: ReadonlyArray<string>) => (path: string) =>
  extensions.some((e) => path.endsWith(e)) && small(path)
// C++ headers named .h (gmpxx.h, z3++.h) are not C: the C corpus is the headers without C++ syntax.
const cHeader = (path: string) =>
  path.endsWith(".h") && small(path) &&
  !/\b(namespace|template\s*<|class\s+\w+\s*[:{])/.test(readFileSync(path, "utf8"))

const corpus = (larger: boolean): ReadonlyArray<Group> => {
  const nm = join(ROOT, "node_modules")
  const ts = [
    join(nm, "effect/src"),
    ...(larger ? readdirSync(join(nm, "@effect")).map((p) => join(nm, "@effect", p, "src")) : [])
  ]
  const py = "/usr/lib/python3.11"
  const withoutTests = (dir: string) => !larger && /\/(test|tests|idlelib|dist-packages|site-packages)$/.test(dir)
  // /usr/include/node holds node's vendored OpenSSL once per target architecture (about 40 copies).
  const c = larger
    ? walk("/usr/include", cHeader, (dir) => dir.startsWith("/usr/include/c++") || dir === "/usr/include/node")
    : [
      ...walk("/usr/include", (p) => cHeader(p) && !p.slice("/usr/include/".length).includes("/")),
      ...walk("/usr/include/x86_64-linux-gnu", cHeader, (dir) => dir.includes("/c++"))
    ]
  return [
    { language: "TypeScript", ctags: "TypeScript", files: ts.flatMap((dir) => walk(dir, ext(".ts"))) },
    { language: "JavaScript", ctags: "JavaScript", files: walk(join(nm, "eslint/lib"), ext(".js")) },
    { language: "Python", ctags: "Python", files: walk(py, ext(".py"), withoutTests) },
    { language: "C", ctags: "C", files: c }
  ].filter((group) => group.files.length > 0)
}

// ---------------------------------------------------------------------------------------------------
// universal-ctags
// ---------------------------------------------------------------------------------------------------

/** Debian's universal-ctags, installed the way .ci/run installs promtool when it is missing. */
const ensureCtags = () => {
  const probe = spawnSync("ctags", ["--version"], { encoding: "utf8" })
  if (probe.status === 0 && probe.stdout.startsWith("Universal Ctags")) return probe.stdout.split("\n")[0]!
  warn("universal-ctags missing: apt-get install universal-ctags")
  const asRoot = (...args: Array<string>) =>
    process.getuid?.() === 0
      ? spawnSync(args[0]!, args.slice(1), { stdio: "inherit" })
      : spawnSync("sudo", args, { stdio: "inherit" })
  if (asRoot("apt-get", "install", "-y", "--no-install-recommends", "universal-ctags").status !== 0) {
    asRoot("apt-get", "update")
    asRoot("apt-get", "install", "-y", "--no-install-recommends", "universal-ctags")
  }
  const again = spawnSync("ctags", ["--version"], { encoding: "utf8" })
  if (again.status !== 0) throw new Error("universal-ctags could not be installed")
  return again.stdout.split("\n")[0]!
}

// "functions, classes, methods and types", in each ctags parser's own kind names.
const DEFINITION_KINDS: Readonly<Record<string, ReadonlyArray<string>>> = {
  TypeScript: ["function", "class", "method", "interface", "enum", "alias", "generator"],
  JavaScript: ["function", "class", "method", "generator", "getter", "setter"],
  Python: ["class", "function", "member"],
  C: ["function", "prototype", "struct", "union", "enum", "typedef"]
}

interface CtagsTag {
  readonly _type: string
  readonly name: string
  readonly path: string
  readonly line: number
  readonly kind: string
  readonly pattern?: string
}

/**
 * Tags ctags makes up or misreads, which no parser could report, are left out of the comparison:
 * names it invents for anonymous definitions, JavaScript object literals it calls classes, `import
 * { type X }` read as a TypeScript type alias, and glibc's `__NTH (f (…))` wrapper read as a function.
 */
const comparable = (language: string, tag: CtagsTag) => {
  if (!DEFINITION_KINDS[language]!.includes(tag.kind)) return false
  if (/^(__anon|AnonymousFunction)/.test(tag.name) || /^__(NTH|REDIRECT\w*)$/.test(tag.name)) return false
  const pattern = tag.pattern ?? ""
  if (language === "JavaScript" && tag.kind === "class") return /\bclass\b/.test(pattern)
  if (language === "TypeScript" && tag.kind === "alias") {
    return new RegExp(`\\btype\\s+${tag.name.replace(/[$]/g, "\\$")}\\b\\s*[<=]`).test(pattern)
  }
  return true
}

/** CPU ms of this process's reaped children (cutime + cstime, in clock ticks of 10 ms). */
const childrenCpuMs = () => {
  const text = readFileSync("/proc/self/stat", "utf8")
  const fields = text.slice(text.lastIndexOf(") ") + 2).split(" ").map(Number)
  return ((fields[13] ?? 0) + (fields[14] ?? 0)) * 10
}

const runCtags = (group: Group) => {
  const cpuBefore = childrenCpuMs()
  const t0 = performance.now()
  const out = spawnSync(
    "ctags",
    ["--output-format=json", "--fields=+nK", "-f", "-", `--language-force=${group.ctags}`, "-L", "-"],
    { input: group.files.join("\n"), maxBuffer: 1 << 30, encoding: "utf8", stdio: ["pipe", "pipe", "ignore"] }
  )
  const seconds = (performance.now() - t0) / 1000
  const cpuMs = childrenCpuMs() - cpuBefore
  if (out.status !== 0) throw new Error(`ctags (${group.language}): exit ${out.status}`)
  const definitions = new Map<string, string>()
  for (const line of out.stdout.split("\n")) {
    if (line === "") continue
    const tag = JSON.parse(line) as CtagsTag
    if (tag._type === "tag" && comparable(group.language, tag)) {
      definitions.set(`${tag.path}\0${tag.line}\0${tag.name}`, tag.kind)
    }
  }
  return { seconds, cpuMs, definitions }
}

// ---------------------------------------------------------------------------------------------------
// Ours: the ExtractorPool from dist/, in a child process of its own (bench/symbols/extract.ts)
// ---------------------------------------------------------------------------------------------------

interface OursGroup {
  readonly language: string
  readonly seconds: number
  /** The extraction process and its extractor children, sampled from /proc at the group's start and end. */
  readonly cpuMs: number
  readonly bytes: number
  readonly parseErrors: number
  readonly failed: number
  /** Per file, "line name" per symbol, one per line. */
  readonly symbols: Readonly<Record<string, string>>
}

interface OursResult {
  readonly seconds: number
  /** This process alone: it reads the files and holds the results. */
  readonly peakRssMiB: number
  /** The largest extractor child's, sampled. */
  readonly childPeakRssMiB: number
  /** This process and its children together, at one sample. */
  readonly togetherPeakRssMiB: number
  readonly groups: ReadonlyArray<OursGroup>
}

const runOurs = async (child: string, groups: ReadonlyArray<Group>, dir: string, name: string) => {
  const input = join(dir, `${name}-in.json`)
  const output = join(dir, `${name}-out.json`)
  writeFileSync(
    input,
    JSON.stringify({
      groups: groups.map((g) => ({ language: g.language, files: g.files })),
      workers: WORKERS,
      maxFileSize: MAX_FILE_SIZE,
      batch: BATCH
    })
  )
  await new Promise<void>((done, fail) => {
    const process_ = spawn(process.execPath, [child, join(ROOT, "dist"), input, output], {
      cwd: ROOT,
      stdio: ["ignore", "inherit", "inherit"]
    })
    onCleanup(async () => void process_.kill("SIGKILL"))
    process_.once("error", fail)
    process_.once("exit", (code) => (code === 0 ? done() : fail(new Error(`extraction child exited ${code}`))))
  })
  return JSON.parse(readFileSync(output, "utf8")) as OursResult
}

// ---------------------------------------------------------------------------------------------------
// One run: both systems over one corpus
// ---------------------------------------------------------------------------------------------------

interface RunResult {
  readonly files: number
  readonly megabytes: number
  readonly ours: OursResult
  readonly ctagsSeconds: number
  readonly agreement: ReadonlyArray<{ readonly language: string; readonly share: number; readonly of: number }>
}

const measure = async (child: string, groups: ReadonlyArray<Group>, dir: string, name: string): Promise<RunResult> => {
  const files = groups.reduce((n, g) => n + g.files.length, 0)
  log(
    `\n${name}: ${groups.map((g) => `${g.language} ${fmt(g.files.length)}`).join(", ")} files; load ${
      fmt(loadAverage(), 1)
    }`
  )
  const ours = await runOurs(child, groups, dir, name)
  const theirs = groups.map(runCtags)
  const megabytes = ours.groups.reduce((n, g) => n + g.bytes, 0) / 1e6
  const rows = [[
    "language",
    "files",
    "MB",
    "ours s",
    "ctags s",
    "ours files/s",
    "ctags files/s",
    "ratio",
    "ours CPU ms/MB",
    "ctags CPU ms/MB",
    "CPU ratio",
    "parse errors",
    "agreement"
  ]]
  const agreement = groups.map((group, i) => {
    const mine = ours.groups[i]!
    const found = new Set<string>()
    for (const [path, symbols] of Object.entries(mine.symbols)) {
      for (const entry of symbols.split("\n")) {
        const space = entry.indexOf(" ")
        if (space > 0) found.add(`${path}\0${entry.slice(0, space)}\0${entry.slice(space + 1)}`)
      }
    }
    const { cpuMs, definitions, seconds } = theirs[i]!
    let shared = 0
    const missed = new Map<string, number>()
    for (const [key, kind] of definitions) {
      if (found.has(key)) shared++
      else missed.set(kind, (missed.get(kind) ?? 0) + 1)
    }
    const share = definitions.size === 0 ? 100 : (100 * shared) / definitions.size
    rows.push([
      group.language,
      fmt(group.files.length),
      fmt(mine.bytes / 1e6, 1),
      fmt(mine.seconds, 2),
      fmt(seconds, 2),
      fmt(group.files.length / mine.seconds, 0),
      fmt(group.files.length / seconds, 0),
      fmt(seconds / mine.seconds, 2),
      fmt(mine.cpuMs / (mine.bytes / 1e6), 0),
      fmt(cpuMs / (mine.bytes / 1e6), 0),
      fmt(cpuMs / mine.cpuMs, 2),
      `${fmt(mine.parseErrors)}${mine.failed > 0 ? ` (+${mine.failed} failed)` : ""}`,
      `${fmt(share, 1)}% of ${fmt(definitions.size)}${
        missed.size === 0 ? "" : ` (missed ${[...missed].map(([k, n]) => `${k} ${n}`).join(", ")})`
      }`
    ])
    return { language: group.language, share, of: definitions.size }
  })
  const ctagsSeconds = theirs.reduce((n, t) => n + t.seconds, 0)
  const ctagsCpuMs = theirs.reduce((n, t) => n + t.cpuMs, 0)
  const oursCpuMs = ours.groups.reduce((n, g) => n + g.cpuMs, 0)
  rows.push([
    "all",
    fmt(files),
    fmt(megabytes, 1),
    fmt(ours.seconds, 2),
    fmt(ctagsSeconds, 2),
    fmt(files / ours.seconds, 0),
    fmt(files / ctagsSeconds, 0),
    fmt(ctagsSeconds / ours.seconds, 2),
    fmt(oursCpuMs / megabytes, 0),
    fmt(ctagsCpuMs / megabytes, 0),
    fmt(ctagsCpuMs / oursCpuMs, 2),
    "",
    ""
  ])
  table(rows, 1)
  log(
    `ours: ${WORKERS} extractor processes, peak RSS ${fmt(ours.childPeakRssMiB, 1)} MiB (the largest child), ${
      fmt(ours.peakRssMiB, 1)
    } MiB (the parent), ${fmt(ours.togetherPeakRssMiB, 1)} MiB (together); load ${fmt(loadAverage(), 1)}`
  )
  return { files, megabytes, ours, ctagsSeconds, agreement }
}

const main = async () => {
  const only = process.env.BENCH_SYMBOLS_ONLY ?? ""
  if (!["", "extraction", "search"].includes(only)) {
    throw new Error(`BENCH_SYMBOLS_ONLY: extraction or search, not ${only}`)
  }
  ensureBuilt(ROOT)
  const problems: Array<string> = []
  const figures: Array<Figure> = []
  let version = ""
  let extractionRss: number | undefined
  if (only !== "search") {
    version = ensureCtags()
    const child = compileBaseline(ROOT, "bench/symbols/extract.ts")
    const dir = mkdtempSync(join(tmpdir(), "kotadb-bench-symbols-"))
    onCleanup(async () => rmSync(dir, { recursive: true, force: true }))
    log(`bench:symbols: ours (ExtractorPool, ${WORKERS} processes, batches of ${BATCH}) against ${version}`)

    const base = await measure(child, corpus(false), dir, "base")
    const larger = await measure(child, corpus(true), dir, "larger")
    const filesPerSecond = (r: RunResult) => r.files / r.ours.seconds
    extractionRss = Math.max(base.ours.childPeakRssMiB, larger.ours.childPeakRssMiB)
    const parentRss = Math.max(base.ours.peakRssMiB, larger.ours.peakRssMiB)
    const togetherRss = Math.max(base.ours.togetherPeakRssMiB, larger.ours.togetherPeakRssMiB)
    figures.push(
      figure("extraction, files/s", "files/s", filesPerSecond(base), base.files / base.ctagsSeconds, {
        bar: atLeast(0.5, "ratio"),
        notes: `${fmt(base.files)} files, ${
          fmt(base.megabytes, 1)
        } MB; ${WORKERS} extractor processes against one ctags process`
      }),
      figure("extraction, MB/s", "MB/s", base.megabytes / base.ours.seconds, base.megabytes / base.ctagsSeconds),
      figure(
        `extraction at ${fmt(larger.files)} files, files/s`,
        "files/s",
        filesPerSecond(larger),
        larger.files / larger.ctagsSeconds,
        { bar: atLeast(0.5, "ratio"), notes: `${fmt(larger.megabytes, 1)} MB` }
      ),
      figure("peak RSS of an extractor process", "MiB", extractionRss, RSS_BAR_MIB, { bar: atMost(RSS_BAR_MIB) }),
      figure("peak RSS of the process driving the pool", "MiB", parentRss, NaN),
      figure("peak RSS of the pool's parent and children together", "MiB", togetherRss, NaN),
      ...base.agreement.map((a) =>
        figure(`share of ctags' definitions we report at the same line, ${a.language}`, "%", a.share, NaN, {
          bar: atLeast(AGREEMENT_BAR),
          notes: `of ${fmt(a.of)} ctags functions, classes, methods and types`
        })
      )
    )
  }
  let serverRss: number | undefined
  if (only !== "extraction") {
    const search = await symbolSearchScenario({
      root: ROOT,
      groups: corpus(false),
      log,
      table,
      onCleanup,
      started: (server) => void servers.push(server)
    })
    figures.push(...search.figures)
    problems.push(...search.problems)
    serverRss = search.serverPeakRssMiB
  }

  for (const f of figures) if (f.met === false) problems.push(`${f.figure}: ${fmt(f.ours ?? NaN, 2)} (${f.target})`)
  for (const problem of problems) log(`PROBLEM: ${problem}`)
  writeReport({
    bench: "symbols",
    baseline: [version, only === "extraction" ? "" : `search: ${SEARCH_BASELINE}`].filter((b) => b !== "").join("; "),
    figures,
    peakRssMiB: extractionRss !== undefined
      ? peakRss(
        extractionRss,
        undefined,
        "our largest extractor child process (ctags is one process per language)"
      )
      : peakRss(serverRss, undefined, "our server, indexing and searching"),
    problems
  })
  await lifecycle.cleanup()
  return problems.length === 0 ? 0 : 1
}

void runMain("symbols", lifecycle, main, () => servers)
