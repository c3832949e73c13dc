// The child process of bench:symbols: extracts a list of files through the ExtractorPool built in
// dist/, as the indexer does, and writes what it found and how long it took. Compiled to plain
// JavaScript (bench/lib/compileBaseline.ts) so that the process is bare node, whose peak RSS, worker
// threads included, it reports itself. argv: <dist dir> <input JSON> <output JSON>.
import * as Effect from "effect/Effect"
import { readFileSync, writeFileSync } from "node:fs"
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

const vmHwmMiB = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? NaN) / 1024

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
      bytes,
      parseErrors,
      failed,
      symbols
    })
  }
  return { seconds: (performance.now() - t0) / 1000, groups }
})

const result = await Effect.runPromise(Effect.scoped(program))
writeFileSync(outputFile, JSON.stringify({ ...result, peakRssMiB: vmHwmMiB() }))
process.exit(0)
