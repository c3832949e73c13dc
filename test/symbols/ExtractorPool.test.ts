import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Fiber, Layer, Option } from "effect"
import { fork } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { languageOf } from "../../src/domain/Language.js"
import { AppConfig } from "../../src/services/AppConfig.js"
import type { ExtractionInput, ExtractionOutcome } from "../../src/symbols/Extraction.js"
import type { ExtractorPoolOptions } from "../../src/symbols/ExtractorPool.js"
import { ExtractorPool, makeExtractorPool } from "../../src/symbols/ExtractorPool.js"
import type { ExtractorProcess } from "../../src/symbols/ExtractorProcess.js"
import { forkExtractor, fromChild } from "../../src/symbols/ExtractorProcess.js"

const FIXTURES = new URL("../fixtures/symbols/", import.meta.url)
const fixtures: ReadonlyArray<ExtractionInput> = readdirSync(FIXTURES)
  .filter((name) => name.endsWith(".txt"))
  .map((name) => {
    const path = name.slice(0, -4)
    return { path, language: languageOf(path), text: readFileSync(new URL(name, FIXTURES), "utf8") }
  })

const stub = () => fromChild(fork(fileURLToPath(new URL("stubWorker.mjs", FIXTURES)), [], { execArgv: [] }))
const EVENTS = ["message", "exit", "error"] as const
const input = (text: string): ExtractionInput => ({ path: "a.py", language: "Python", text })
/** The stub answers with the pid of the child that did the work. */
const child = (outcome: ExtractionOutcome | undefined) =>
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
  it.live("extracts files of every language in child processes, answering in the order asked", () =>
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

  it.live("skips a file over the size cap without sending it to a child", () =>
    withPool(
      { maxFileSize: 1024, spawn: () => expect.unreachable("no child for a skipped file") },
      (pool) =>
        Effect.gen(function*() {
          const outcomes = yield* pool.extract([input("x = 1\n".repeat(200)), { path: "a", language: null, text: "" }])
          expect(outcomes).toEqual([
            { _tag: "Skipped", reason: "too_large" },
            { _tag: "Skipped", reason: "unsupported_language" }
          ])
        })
    ))

  it.live("gives up on a file that takes too long, kills its child and goes on with a new one", () =>
    withPool({ workers: 1, timeout: "300 millis", spawn: stub }, (pool) =>
      Effect.gen(function*() {
        const outcomes = yield* pool.extract([input("a"), input("hang"), input("b")])
        expect(outcomes[1]).toMatchObject({ _tag: "Failed", reason: "timeout" })
        expect(outcomes[0]?._tag).toBe("Extracted")
        expect(outcomes[2]?._tag).toBe("Extracted")
        expect(child(outcomes[2])).not.toBe(child(outcomes[0]))
      })))

  it.live("sends a child several files at once and, when one hangs or crashes, goes on from the next in a new child", () =>
    withPool({ workers: 1, timeout: "300 millis", spawn: stub }, (pool) =>
      Effect.gen(function*() {
        // 12 files to one worker: requests of 3, so "hang" and "crash" each cut one short in its middle.
        const texts = ["0", "1", "2", "3", "hang", "5", "6", "crash", "8", "9", "10", "11"]
        const outcomes = yield* pool.extract(texts.map(input))
        expect(outcomes.map((o) => o._tag)).toEqual(
          texts.map((t) => t === "hang" || t === "crash" ? "Failed" : "Extracted")
        )
        expect(outcomes[4]).toMatchObject({ reason: "timeout" })
        expect(outcomes[7]).toMatchObject({ reason: "crash" })
        const children = outcomes.map(child)
        expect(new Set(children.slice(0, 4)).size).toBe(1)
        expect(children[5]).not.toBe(children[3])
        expect(children[6]).toBe(children[5])
        expect(children[8]).not.toBe(children[6])
        expect(new Set(children.slice(8)).size).toBe(1)
      })))

  it.live("counts the timeout from when the child has loaded the file's parser, not from when it was sent", () =>
    withPool({ workers: 1, timeout: "300 millis", spawn: stub }, (pool) =>
      Effect.gen(function*() {
        const outcomes = yield* pool.extract([input("slow-load"), input("b")])
        expect(outcomes.map((outcome) => outcome._tag)).toEqual(["Extracted", "Extracted"])
        expect(child(outcomes[1])).toBe(child(outcomes[0]))
      })))

  it.live("warm starts a child that loads the parsers ahead of the files, which then load nothing", () => {
    const spawned: Array<ExtractorProcess> = []
    const messages: Array<unknown> = []
    const spawn = () => {
      const worker = forkExtractor()
      worker.events.on("message", (message) => messages.push(message))
      spawned.push(worker)
      return worker
    }
    return withPool({ workers: 1, spawn }, (pool) =>
      Effect.gen(function*() {
        yield* pool.warm(["TypeScript", "Python", "Markdown", null, "Python"])
        expect(spawned).toHaveLength(1)
        expect(messages).toEqual(["ready", { id: 0, prepared: true }])
        const files = fixtures.filter((f) => f.language === "TypeScript" || f.language === "Python")
        const outcomes = yield* pool.extract(files)
        expect(outcomes.map((outcome) => outcome._tag)).toEqual(files.map(() => "Extracted"))
        // No parser loaded while the files were waited for.
        expect(messages.filter((m) => typeof m === "object" && m !== null && "phase" in m)).toEqual([])
        expect(spawned).toHaveLength(1)
      }))
  })

  it.live("warm does not wait for a child busy extracting", () =>
    withPool({ workers: 1, spawn: stub }, (pool) =>
      Effect.gen(function*() {
        const busy = yield* Effect.fork(pool.extract([input("slow-load")]))
        yield* Effect.sleep("100 millis")
        yield* pool.warm(["Python"])
        expect(Option.isNone(yield* Fiber.poll(busy))).toBe(true)
        expect((yield* Fiber.join(busy))[0]?._tag).toBe("Extracted")
      })))

  it.live("reports a child that dies as a crash and goes on", () =>
    withPool({ workers: 1, spawn: stub }, (pool) =>
      Effect.gen(function*() {
        const outcomes = yield* pool.extract([input("crash"), input("after")])
        expect(outcomes[0]).toMatchObject({ _tag: "Failed", reason: "crash" })
        expect(outcomes[1]?._tag).toBe("Extracted")
      })))

  it.live("replaces a child after recycleAfter files", () =>
    withPool({ workers: 1, recycleAfter: 2, spawn: stub }, (pool) =>
      Effect.gen(function*() {
        const children = (yield* pool.extract(["1", "2", "3", "4", "5"].map(input))).map(child)
        expect(children[0]).toBe(children[1])
        expect(children[2]).toBe(children[3])
        expect(new Set(children).size).toBe(3)
      })))

  it.live("counts only files tree-sitter parses toward recycleAfter: the compiler's trees are garbage in its heap", () =>
    withPool({ workers: 1, recycleAfter: 2, spawn: stub }, (pool) =>
      Effect.gen(function*() {
        const ts = (text: string): ExtractionInput => ({ path: "a.ts", language: "TypeScript", text })
        const children = (yield* pool.extract([ts("1"), ts("2"), ts("3"), input("4"), ts("5"), input("6"), ts("7")]))
          .map(child)
        expect(new Set(children.slice(0, 6)).size).toBe(1)
        expect(children[6]).not.toBe(children[5])
      })))

  it.live("leaves no listeners behind on a child that has answered many files", () => {
    const spawned: Array<ExtractorProcess> = []
    const before: Record<string, number> = {}
    const spawn = () => {
      const process_ = stub()
      for (const event of EVENTS) before[event] = process_.events.listenerCount(event)
      spawned.push(process_)
      return process_
    }
    return withPool({ workers: 1, spawn }, (pool) =>
      Effect.gen(function*() {
        yield* pool.extract(Array.from({ length: 30 }, (_, i) => input(String(i))))
        expect(spawned).toHaveLength(1)
        for (const event of EVENTS) expect(spawned[0]!.events.listenerCount(event), event).toBe(before[event])
      }))
  })

  it.live("stops the child of an interrupted request, which would otherwise go on with files nobody waits for", () =>
    withPool({ workers: 1, spawn: stub }, (pool) =>
      Effect.gen(function*() {
        const first = yield* pool.extract([input("a")])
        const interrupted = yield* pool.extract([input("b"), input("hang"), input("c")]).pipe(
          Effect.timeout("300 millis"),
          Effect.option
        )
        expect(interrupted._tag).toBe("None")
        const after = yield* pool.extract([input("d")])
        expect(after[0]?._tag).toBe("Extracted")
        expect(child(after[0])).not.toBe(child(first[0]))
      })))

  it.live("kills its children when its scope closes", () => {
    const exits: Array<Promise<unknown>> = []
    const spawn = () => {
      const process_ = stub()
      exits.push(new Promise((resolve) => process_.events.once("exit", resolve)))
      return process_
    }
    return withPool({ workers: 2, spawn }, (pool) => pool.extract([input("a"), input("b")])).pipe(
      Effect.zipRight(Effect.promise(() => Promise.all(exits)).pipe(Effect.timeout("5 seconds"))),
      Effect.map(() => expect(exits).toHaveLength(2))
    )
  })

  it.live("replaces a tree-sitter child after a large file that left its RSS high, whose memory it would keep", () =>
    withPool({ workers: 1, spawn: stub }, (pool) =>
      Effect.gen(function*() {
        const large = input(`grown\n${`x = 1\n`.repeat(60_000)}`)
        const children = (yield* pool.extract([input("a"), large, input("b")])).map(child)
        expect(children[0]).toBe(children[1])
        expect(children[2]).not.toBe(children[1])
        const ts = { path: "big.ts", language: "TypeScript", text: large.text }
        const after = (yield* pool.extract([ts, input("c")])).map(child)
        expect(after[0]).toBe(after[1])
      })))

  it.live("keeps a child after a large file that left its RSS low: a new one would start and warm up again", () =>
    withPool({ workers: 1, spawn: stub }, (pool) =>
      Effect.gen(function*() {
        const large = input(`x = 1\n`.repeat(60_000))
        const children = (yield* pool.extract([input("a"), large, input("b")])).map(child)
        expect(children[1]).toBe(children[0])
        expect(children[2]).toBe(children[1])
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
