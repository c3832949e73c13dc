import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import { AppConfig } from "../services/AppConfig.js"
import type { ExtractionInput, ExtractionOutcome } from "./Extraction.js"
import type { ExtractorProcess } from "./ExtractorProcess.js"
import { forkExtractor } from "./ExtractorProcess.js"
import type { ExtractorResponse } from "./ExtractorWorker.js"
import { COMPILER_LANGUAGES, supports } from "./Languages.js"

export interface ExtractorPoolOptions {
  readonly workers: number
  readonly maxFileSize: number
  readonly timeout: Duration.DurationInput
  readonly recycleAfter: number
  /** An unused child is stopped after this long, giving its memory back. */
  readonly idleTimeout?: Duration.DurationInput
  /** Starts a child speaking the ExtractorWorker protocol; tests stand in children that hang or crash. */
  readonly spawn?: () => ExtractorProcess
}

const STARTUP_TIMEOUT = Duration.seconds(60)
/**
 * tree-sitter's wasm memory grows with the largest tree and never shrinks: after a file this large a child is
 * replaced if its RSS is over LARGE_FILE_RSS (or unknown). Most large files leave it low, and a new child
 * pays its start and warm-up again (bench/README.md, symbols).
 */
const LARGE_FILE = 256 * 1024
const LARGE_FILE_RSS = 160 * 1024 * 1024

const crash = (message: string): ExtractionOutcome => ({ _tag: "Failed", reason: "crash", message })

interface Answer {
  readonly outcome: ExtractionOutcome
  readonly rss: number | undefined
}

/** One child process, started on first use and replaced after a timeout, a crash or `recycleAfter` files. */
class Slot {
  private worker: ExtractorProcess | undefined
  private ready: Promise<void> | undefined
  private files = 0
  private idle: NodeJS.Timeout | undefined
  private nextId = 0
  private stopping: Promise<unknown> = Promise.resolve()

  constructor(private readonly options: ExtractorPoolOptions) {}

  private start(): Promise<void> {
    // A replaced child exits before the next one starts (both at once would add their memory at the peak),
    // but a child that will not exit does not hold the slot.
    if (this.ready !== undefined) return this.ready
    const exited = Promise.race([this.stopping, new Promise((resolve) => setTimeout(resolve, 5_000).unref())])
    this.ready = exited.then(() => this.spawnThread())
    return this.ready
  }

  private spawnThread(): Promise<void> {
    const worker = (this.options.spawn ?? forkExtractor)()
    this.worker = worker
    this.files = 0
    const ready = new Promise<void>((resolve, reject) => {
      const onMessage = (message: unknown) => {
        if (message !== "ready") return
        worker.events.off("error", onError).off("exit", onExit).off("message", onMessage)
        resolve()
      }
      const onError = (error: Error) => reject(error)
      const onExit = (code: number | null, signal: string | null) =>
        reject(new Error(`the extractor process exited (${code ?? signal}) while starting`))
      worker.events.on("message", onMessage).once("error", onError).once("exit", onExit)
    })
    ready.catch(() => this.stop(worker))
    return ready
  }

  /** Stops the current child, or only `which` if it is still the current one. */
  stop(which?: ExtractorProcess): void {
    const worker = this.worker
    if (which !== undefined && which !== worker) return
    this.worker = undefined
    this.ready = undefined
    if (worker !== undefined) this.stopping = worker.stop()
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
      Effect.map(({ outcome, rss }) => {
        const large = input.text.length > LARGE_FILE && !COMPILER_LANGUAGES.has(input.language ?? "")
        if (large && (rss === undefined || rss > LARGE_FILE_RSS)) this.stop()
        return outcome
      }),
      Effect.catchAll((error) => Effect.succeed(crash(`the extractor process did not start: ${error.message}`))),
      Effect.ensuring(Effect.sync(() => {
        if (this.options.idleTimeout === undefined) return
        this.idle = setTimeout(() => this.stop(), Duration.toMillis(this.options.idleTimeout)).unref()
      }))
    )
  }

  private call(input: ExtractionInput): Effect.Effect<Answer> {
    const worker = this.worker!
    return Effect.async<Answer>((resume) => {
      const id = this.nextId++
      this.files++
      let timer: NodeJS.Timeout | undefined
      // The returned finalizer only runs on interruption: on an answer the listeners are removed here.
      const finish = (outcome: ExtractionOutcome, rss?: number) => {
        detach()
        resume(Effect.succeed({ outcome, rss }))
      }
      const giveUpAfter = (duration: Duration.DurationInput, message: string) => {
        clearTimeout(timer)
        timer = setTimeout(() => {
          this.stop(worker)
          finish({ _tag: "Failed", reason: "timeout", message })
        }, Duration.toMillis(duration))
      }
      const onMessage = (message: ExtractorResponse) => {
        if (message.id !== id) return
        if ("prepared" in message) {
          giveUpAfter(this.options.timeout, `no result within ${Duration.format(this.options.timeout)}`)
        } else {
          finish(message.outcome, message.rss)
        }
      }
      const onError = (error: Error) => {
        this.stop(worker)
        finish(crash(error.message))
      }
      const onExit = (code: number | null, signal: string | null) => {
        this.stop(worker)
        finish(crash(`the extractor process exited (${code ?? signal})`))
      }
      const detach = () => {
        clearTimeout(timer)
        worker.events.off("message", onMessage).off("error", onError).off("exit", onExit)
      }
      worker.events.on("message", onMessage).on("error", onError).on("exit", onExit)
      worker.send({ id, language: input.language, text: input.text })
      giveUpAfter(
        STARTUP_TIMEOUT,
        `the parser for ${input.language} did not load within ${Duration.format(STARTUP_TIMEOUT)}`
      )
      return Effect.sync(detach)
    })
  }
}

/** Extraction out of the server's process, on a pool of child processes, with a size cap and a per-file timeout. */
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
