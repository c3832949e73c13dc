import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { readdirSync, readFileSync } from "node:fs"
import { Worker } from "node:worker_threads"
import { languageOf } from "../../src/domain/Language.js"
import { AppConfig } from "../../src/services/AppConfig.js"
import type { ExtractionInput, ExtractionOutcome } from "../../src/symbols/Extraction.js"
import type { ExtractorPoolOptions } from "../../src/symbols/ExtractorPool.js"
import { ExtractorPool, makeExtractorPool } from "../../src/symbols/ExtractorPool.js"

const FIXTURES = new URL("../fixtures/symbols/", import.meta.url)
const fixtures: ReadonlyArray<ExtractionInput> = readdirSync(FIXTURES)
  .filter((name) => name.endsWith(".txt"))
  .map((name) => {
    const path = name.slice(0, -4)
    return { path, language: languageOf(path), text: readFileSync(new URL(name, FIXTURES), "utf8") }
  })

const stub = () => new Worker(new URL("stubWorker.mjs", FIXTURES))
const input = (text: string): ExtractionInput => ({ path: "a.py", language: "Python", text })
/** The stub answers with the id of the thread that did the work. */
const thread = (outcome: ExtractionOutcome | undefined) =>
  outcome?._tag === "Extracted" ? outcome.extraction.imports[0]?.module : outcome?._tag

const withPool = <A>(
  options: Partial<ExtractorPoolOptions>,
  use: (pool: Effect.Effect.Success<ReturnType<typeof makeExtractorPool>>) => Effect.Effect<A>
) =>
  Effect.scoped(
    Effect.flatMap(
      makeExtractorPool({ workers: 2, maxFileSize: 1024 * 1024, timeout: "20 seconds", recycleAfter: 100, ...options }),
      use
    )
  )

describe("ExtractorPool", () => {
  it.live("extracts files of every language on worker threads, answering in the order asked", () =>
    withPool({}, (pool) =>
      Effect.gen(function*() {
        const files = [...fixtures, { path: "README.md", language: "Markdown", text: "# hi" }, ...fixtures]
        const outcomes = yield* pool.extract(files)
        expect(outcomes).toHaveLength(files.length)
        outcomes.forEach((outcome, i) => {
          const file = files[i]!
          if (file.language === "Markdown") {
            expect(outcome).toEqual({ _tag: "Skipped", reason: "unsupported_language" })
            return
          }
          expect(outcome._tag, file.path).toBe("Extracted")
          if (outcome._tag !== "Extracted") return
          expect(outcome.extraction.symbols.length, file.path).toBeGreaterThan(3)
        })
        const circle = outcomes[fixtures.findIndex((f) => f.path === "sample.ts")]
        expect(circle?._tag === "Extracted" && circle.extraction.symbols.some((s) => s.name === "Circle")).toBe(true)
      })))

  it.live("skips a file over the size cap without sending it to a thread", () =>
    withPool(
      { maxFileSize: 1024, spawn: () => expect.unreachable("no thread for a skipped file") },
      (pool) =>
        Effect.gen(function*() {
          const outcomes = yield* pool.extract([input("x = 1\n".repeat(200)), { path: "a", language: null, text: "" }])
          expect(outcomes).toEqual([
            { _tag: "Skipped", reason: "too_large" },
            { _tag: "Skipped", reason: "unsupported_language" }
          ])
        })
    ))

  it.live("gives up on a file that takes too long, stops its thread and goes on with a new one", () =>
    withPool({ workers: 1, timeout: "300 millis", spawn: stub }, (pool) =>
      Effect.gen(function*() {
        const outcomes = yield* pool.extract([input("a"), input("hang"), input("b")])
        expect(outcomes[1]).toMatchObject({ _tag: "Failed", reason: "timeout" })
        expect(outcomes[0]?._tag).toBe("Extracted")
        expect(outcomes[2]?._tag).toBe("Extracted")
        expect(thread(outcomes[2])).not.toBe(thread(outcomes[0]))
      })))

  it.live("reports a thread that dies as a crash and goes on", () =>
    withPool({ workers: 1, spawn: stub }, (pool) =>
      Effect.gen(function*() {
        const outcomes = yield* pool.extract([input("crash"), input("after")])
        expect(outcomes[0]).toMatchObject({ _tag: "Failed", reason: "crash" })
        expect(outcomes[1]?._tag).toBe("Extracted")
      })))

  it.live("replaces a thread after recycleAfter files", () =>
    withPool({ workers: 1, recycleAfter: 2, spawn: stub }, (pool) =>
      Effect.gen(function*() {
        const threads = (yield* pool.extract(["1", "2", "3", "4", "5"].map(input))).map(thread)
        expect(threads[0]).toBe(threads[1])
        expect(threads[2]).toBe(threads[3])
        expect(new Set(threads).size).toBe(3)
      })))

  it.live("leaves no listeners behind on a thread that has answered many files", () => {
    const spawned: Array<Worker> = []
    const spawn = () => {
      const worker = stub()
      spawned.push(worker)
      return worker
    }
    return withPool({ workers: 1, spawn }, (pool) =>
      Effect.gen(function*() {
        yield* pool.extract(Array.from({ length: 30 }, (_, i) => input(String(i))))
        expect(spawned).toHaveLength(1)
        expect(spawned[0]!.listenerCount("message")).toBe(0)
        expect(spawned[0]!.listenerCount("exit")).toBe(0)
      }))
  })

  it.live("replaces a tree-sitter thread after a large file, whose memory it would otherwise keep", () =>
    withPool({ workers: 1, spawn: stub }, (pool) =>
      Effect.gen(function*() {
        const large = input(`x = 1\n`.repeat(60_000))
        const threads = (yield* pool.extract([input("a"), large, input("b")])).map(thread)
        expect(threads[0]).toBe(threads[1])
        expect(threads[2]).not.toBe(threads[1])
        const ts = { path: "big.ts", language: "TypeScript", text: large.text }
        const after = (yield* pool.extract([ts, input("c")])).map(thread)
        expect(after[0]).toBe(after[1])
      })))

  it.live("ExtractorPool.Default takes its settings from AppConfig", () =>
    Effect.gen(function*() {
      const pool = yield* ExtractorPool
      expect(pool.supports("Go")).toBe(true)
      expect(pool.supports("YAML")).toBe(false)
      const outcomes = yield* pool.extract(fixtures.slice(0, 4))
      expect(outcomes.map((o) => o._tag)).toEqual(["Extracted", "Extracted", "Extracted", "Extracted"])
    }).pipe(
      Effect.provide(
        ExtractorPool.Default.pipe(
          Layer.provide(AppConfig.Default),
          Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["SYMBOLS_WORKERS", "3"]]))))
        )
      )
    ))
})
