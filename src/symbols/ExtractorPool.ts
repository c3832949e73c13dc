import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import { createRequire } from "node:module"
import { pathToFileURL } from "node:url"
import { Worker } from "node:worker_threads"
import { AppConfig } from "../services/AppConfig.js"
import type { ExtractionInput, ExtractionOutcome } from "./Extraction.js"
import type { ExtractorRequest, ExtractorResponse } from "./ExtractorWorker.js"
import { COMPILER_LANGUAGES, supports } from "./Languages.js"

export interface ExtractorPoolOptions {
  readonly workers: number
  readonly maxFileSize: number
  readonly timeout: Duration.DurationInput
  readonly recycleAfter: number
  /** An unused thread is stopped after this long, giving its memory back. */
  readonly idleTimeout?: Duration.DurationInput
  /** Starts a thread speaking the ExtractorWorker protocol; tests stand in threads that hang or crash. */
  readonly spawn?: () => Worker
}

// A thread's JavaScript heap (the TypeScript parser's trees are garbage after each file) is kept small, so
// that collection runs early instead of growing toward node's default; a file that still does not fit
// fails as a crash and the thread is replaced.
const HEAP = { maxOldGenerationSizeMb: 128, maxYoungGenerationSizeMb: 16 }

// From the sources (tsx, vitest) the thread must load TypeScript itself; from dist/ it is plain JS.
const spawn = (): Worker => {
  const here = import.meta.url
  if (!here.endsWith(".ts")) return new Worker(new URL("./ExtractorWorker.js", here), { resourceLimits: HEAP })
  // tsx's ESM entry (its CJS twin registers hooks it cannot find); require.resolve gives the CJS path.
  const tsx = pathToFileURL(createRequire(here).resolve("tsx/esm/api").replace(/\.cjs$/, ".mjs")).href
  const entry = new URL("./ExtractorWorker.ts", here).href
  return new Worker(
    `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}) })`,
    { eval: true, resourceLimits: HEAP }
  )
}

const STARTUP_TIMEOUT = Duration.seconds(60)
/** tree-sitter's wasm memory grows with the largest tree and never shrinks: a thread is replaced after a file this large. */
const LARGE_FILE = 256 * 1024

const crash = (message: string): ExtractionOutcome => ({ _tag: "Failed", reason: "crash", message })

/** One thread, started on first use and replaced after a timeout, a crash or `recycleAfter` files. */
class Slot {
  private worker: Worker | undefined
  private ready: Promise<void> | undefined
  private files = 0
  private idle: NodeJS.Timeout | undefined
  private nextId = 0
  private stopping: Promise<unknown> = Promise.resolve()

  constructor(private readonly options: ExtractorPoolOptions) {}

  private start(): Promise<void> {
    // A replaced thread exits before the next one starts (both at once would add their memory at the peak),
    // but a thread that will not exit does not hold the slot.
    if (this.ready !== undefined) return this.ready
    const exited = Promise.race([this.stopping, new Promise((resolve) => setTimeout(resolve, 5_000).unref())])
    this.ready = exited.then(() => this.spawnThread())
    return this.ready
  }

  private spawnThread(): Promise<void> {
    const worker = (this.options.spawn ?? spawn)()
    this.worker = worker
    this.files = 0
    const ready = new Promise<void>((resolve, reject) => {
      const onMessage = (message: unknown) => {
        if (message !== "ready") return
        worker.off("error", onError).off("exit", onExit).off("message", onMessage)
        resolve()
      }
      const onError = (error: Error) => reject(error)
      const onExit = (code: number) => reject(new Error(`the extractor thread exited (${code}) while starting`))
      worker.on("message", onMessage).once("error", onError).once("exit", onExit)
    })
    ready.catch(() => this.stop(worker))
    return ready
  }

  /** Stops the current thread, or only `which` if it is still the current one. */
  stop(which?: Worker): void {
    const worker = this.worker
    if (which !== undefined && which !== worker) return
    this.worker = undefined
    this.ready = undefined
    if (worker !== undefined) this.stopping = worker.terminate().catch(() => {})
  }

  run(input: ExtractionInput): Effect.Effect<ExtractionOutcome> {
    return Effect.suspend(() => {
      clearTimeout(this.idle)
      if (this.files >= this.options.recycleAfter) this.stop()
      return Effect.tryPromise({
        try: () => this.start(),
        catch: (error) => error instanceof Error ? error : new Error(String(error))
      }).pipe(Effect.timeout(STARTUP_TIMEOUT))
    }).pipe(
      Effect.flatMap(() => this.call(input)),
      Effect.tap(() => {
        if (input.text.length > LARGE_FILE && !COMPILER_LANGUAGES.has(input.language ?? "")) this.stop()
      }),
      Effect.catchAll((error) => Effect.succeed(crash(`the extractor thread did not start: ${error.message}`))),
      Effect.ensuring(Effect.sync(() => {
        if (this.options.idleTimeout === undefined) return
        this.idle = setTimeout(() => this.stop(), Duration.toMillis(this.options.idleTimeout)).unref()
      }))
    )
  }

  private call(input: ExtractionInput): Effect.Effect<ExtractionOutcome> {
    const worker = this.worker!
    return Effect.async<ExtractionOutcome>((resume) => {
      const id = this.nextId++
      this.files++
      // The returned finalizer only runs on interruption: on an answer the listeners are removed here.
      const finish = (outcome: ExtractionOutcome) => {
        detach()
        resume(Effect.succeed(outcome))
      }
      const onMessage = (message: ExtractorResponse) => {
        if (message.id === id) finish(message.outcome)
      }
      const onError = (error: Error) => {
        this.stop(worker)
        finish(crash(error.message))
      }
      const onExit = (code: number) => {
        this.stop(worker)
        finish(crash(`the extractor thread exited (${code})`))
      }
      const detach = () => void worker.off("message", onMessage).off("error", onError).off("exit", onExit)
      worker.on("message", onMessage).on("error", onError).on("exit", onExit)
      worker.postMessage({ id, language: input.language, text: input.text } satisfies ExtractorRequest)
      return Effect.sync(detach)
    }).pipe(
      Effect.timeoutTo({
        duration: this.options.timeout,
        onSuccess: (outcome) => outcome,
        onTimeout: (): ExtractionOutcome => {
          this.stop(worker)
          return {
            _tag: "Failed",
            reason: "timeout",
            message: `no result within ${Duration.format(this.options.timeout)}`
          }
        }
      })
    )
  }
}

/** Extraction off the main thread, on a pool of worker threads, with a size cap and a per-file timeout. */
export const makeExtractorPool = (options: ExtractorPoolOptions) =>
  Effect.gen(function*() {
    const slots = yield* Queue.bounded<Slot>(options.workers)
    const all = Array.from({ length: options.workers }, () => new Slot(options))
    yield* Queue.offerAll(slots, all)
    yield* Effect.addFinalizer(() => Effect.sync(() => all.forEach((slot) => slot.stop())))

    const one = (input: ExtractionInput): Effect.Effect<ExtractionOutcome> => {
      if (options.workers === 0) return Effect.succeed({ _tag: "Skipped", reason: "disabled" })
      if (!supports(input.language)) return Effect.succeed({ _tag: "Skipped", reason: "unsupported_language" })
      if (Buffer.byteLength(input.text, "utf8") > options.maxFileSize) {
        return Effect.succeed({ _tag: "Skipped", reason: "too_large" })
      }
      return Effect.acquireUseRelease(Queue.take(slots), (slot) => slot.run(input), (slot) => Queue.offer(slots, slot))
    }

    return {
      /** SYMBOLS_WORKERS=0 turns extraction off: files are indexed for text search only. */
      enabled: options.workers > 0,
      supports,
      /** One outcome per file, in order; a file that fails is an outcome, never an error. */
      extract: (files: ReadonlyArray<ExtractionInput>): Effect.Effect<ReadonlyArray<ExtractionOutcome>> =>
        Effect.forEach(files, one, { concurrency: Math.max(1, options.workers) }).pipe(
          Effect.withSpan("ExtractorPool.extract", { attributes: { files: files.length } })
        )
    } as const
  })

export class ExtractorPool extends Effect.Service<ExtractorPool>()("symbols/ExtractorPool", {
  scoped: Effect.gen(function*() {
    const config = yield* AppConfig
    return yield* makeExtractorPool({
      workers: config.symbolsWorkers,
      maxFileSize: config.symbolsMaxFileSize,
      timeout: config.symbolsTimeout,
      recycleAfter: config.symbolsRecycleAfter,
      idleTimeout: Duration.seconds(30)
    })
  })
}) {}
