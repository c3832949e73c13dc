// The child process of bench:symbols: extracts a list of files through the ExtractorPool built in
// dist/, as the indexer does, and writes what it found and how long it took. Compiled to plain
// JavaScript (bench/lib/compileBaseline.ts) so that the process is bare node. It reports its own peak RSS
// and its extractor children's (sampled: see vmHwm below), which are not part of its own.
// argv: <dist dir> <input JSON> <output JSON>.
import * as Effect from "effect/Effect"
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { ExtractionOutcome } from "../../src/symbols/Extraction.js"
import type { makeExtractorPool as MakeExtractorPool } from "../../src/symbols/ExtractorPool.js"

interface Input {
  readonly groups: ReadonlyArray<{ readonly language: string; readonly files: ReadonlyArray<string> }>
  readonly workers: number
  readonly maxFileSize: number
  readonly batch: number
}

const [dist, inputFile, outputFile] = process.argv.slice(2) as [string, string, string]
const input = JSON.parse(readFileSync(inputFile, "utf8")) as Input
const { makeExtractorPool } = (await import(join(dist, "src/symbols/ExtractorPool.js"))) as {
  readonly makeExtractorPool: typeof MakeExtractorPool
}

const status = (pid: number | "self", field: "VmHWM" | "VmRSS") => {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8")
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(text)?.[1] ?? 0) / 1024
  } catch {
    return 0 // it exited between the listing and the read
  }
}
const children = (): Array<number> =>
  readdirSync("/proc/self/task").flatMap((task) =>
    readFileSync(`/proc/self/task/${task}/children`, "utf8").split(" ").filter((p) => p !== "").map(Number)
  )

/** The fields of /proc/<pid>/stat after the command name: [0] is the state (field 3 in proc(5)). */
const stat = (pid: number | "self") => {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8")
    return text.slice(text.lastIndexOf(") ") + 2).split(" ").map(Number)
  } catch {
    return []
  }
}
const TICK_MS = 10
/** CPU ms of this process and its children, reaped (cutime, cstime) or alive (utime, stime). */
const cpuMs = () => {
  const self = stat("self")
  let ticks = (self[13] ?? 0) + (self[14] ?? 0)
  for (const pid of children()) {
    const child = stat(pid)
    ticks += (child[11] ?? 0) + (child[12] ?? 0)
  }
  const own = process.cpuUsage()
  return ticks * TICK_MS + (own.user + own.system) / 1000
}

// The extractor children's peak (VmHWM) is read every SAMPLE_MS while they live, so growth in a child's last
// interval before it exits is missed; "together" is this process's RSS plus its children's, at one sample.
const SAMPLE_MS = 50
let childPeakRssMiB = 0
let togetherPeakRssMiB = 0
const sampler = setInterval(() => {
  let together = status("self", "VmRSS")
  for (const pid of children()) {
    childPeakRssMiB = Math.max(childPeakRssMiB, status(pid, "VmHWM"))
    together += status(pid, "VmRSS")
  }
  togetherPeakRssMiB = Math.max(togetherPeakRssMiB, together)
}, SAMPLE_MS)

const program = Effect.gen(function*() {
  const pool = yield* makeExtractorPool({
    workers: input.workers,
    maxFileSize: input.maxFileSize,
    timeout: "60 seconds",
    recycleAfter: 1_000
  })
  const groups = []
  const t0 = performance.now()
  for (const group of input.groups) {
    const started = performance.now()
    const cpuBefore = cpuMs()
    // "line name" per symbol, one string per file: what the agreement needs, and little to keep.
    const symbols: Record<string, string> = {}
    let parseErrors = 0
    let failed = 0
    let bytes = 0
    for (let i = 0; i < group.files.length; i += input.batch) {
      const paths = group.files.slice(i, i + input.batch)
      const files = paths.map((path) => {
        const text = readFileSync(path, "utf8")
        bytes += Buffer.byteLength(text)
        return { path, language: group.language, text }
      })
      const outcomes = yield* pool.extract(files)
      outcomes.forEach((outcome: ExtractionOutcome, k) => {
        if (outcome._tag !== "Extracted") {
          failed++
          return
        }
        if (outcome.parseErrors) parseErrors++
        symbols[paths[k]!] = outcome.extraction.symbols.map((s) => `${s.line} ${s.name}`).join("\n")
      })
    }
    groups.push({
      language: group.language,
      seconds: (performance.now() - started) / 1000,
      cpuMs: cpuMs() - cpuBefore,
      bytes,
      parseErrors,
      failed,
      symbols
    })
  }
  return { seconds: (performance.now() - t0) / 1000, groups }
})

const result = await Effect.runPromise(Effect.scoped(program))
clearInterval(sampler)
writeFileSync(
  outputFile,
  JSON.stringify({ ...result, peakRssMiB: status("self", "VmHWM"), childPeakRssMiB, togetherPeakRssMiB })
)
process.exit(0)
