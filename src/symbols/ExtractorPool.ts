import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import { AppConfig } from "../services/AppConfig.js"
import type { ExtractionInput, ExtractionOutcome } from "./Extraction.js"
import type { ExtractorProcess } from "./ExtractorProcess.js"
import { forkExtractor } from "./ExtractorProcess.js"
import type { ExtractorResponse } from "./ExtractorProtocol.js"
import { LARGE_FILE } from "./ExtractorProtocol.js"
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
 * tree-sitter's wasm memory grows with the largest tree and never shrinks: after a file over LARGE_FILE a
 * child is replaced if its RSS is over LARGE_FILE_RSS (or unknown). Most large files leave it low, and a new
 * child pays its start and warm-up again (bench/README.md, symbols).
 */
const LARGE_FILE_RSS = 160 * 1024 * 1024
/**
 * Requests per worker that one `extract` call is cut into: fewer leave a child waiting for the pool between
 * them, more let a fast child take over from a slow one sooner.
 */
const REQUESTS_PER_WORKER = 4

const crash = (message: string): ExtractionOutcome => ({ _tag: "Failed", reason: "crash", message })

/**
 * Whether tree-sitter parses `input`: its wasm memory is what recycling gives back. The TypeScript compiler's
 * trees are garbage in the child's JavaScript heap, so its files do not count toward `recycleAfter`: a new
 * child would pay the compiler's load and warm-up again for nothing.
 */
const treeSitter = (input: ExtractionInput) => !COMPILER_LANGUAGES.has(input.language ?? "")

/** Whether a child that has just extracted `input` may have kept the memory of a large tree. */
const grows = (input: ExtractionInput) => input.text.length > LARGE_FILE && treeSitter(input)

/** What a child answered for the files of one request, up to the first that it did not finish. */
interface Answers {
  readonly outcomes: ReadonlyArray<ExtractionOutcome>
  /** The RSS reported with the last outcome. */
  readonly rss: number | undefined
}

/**
 * One child process, started on first use and replaced after a timeout, a crash or `recycleAfter` files
 * parsed by tree-sitter.
 */
class Slot {
  private worker: ExtractorProcess | undefined
  private ready: Promise<void> | undefined
  /** Files sent to the current child that tree-sitter parses. */
  private parsed = 0
  private idle: NodeJS.Timeout | undefined
  private nextId = 0
  private stopping: Promise<unknown> = Promise.resolve()
  /** Languages the current child has been asked to load ahead of their files. */
  private readonly preparing = new Set<string>()

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
    this.parsed = 0
    this.preparing.clear()
    if (worker !== undefined) this.stopping = worker.stop()
  }

  /**
   * Extracts `inputs` in order: as few requests as the child's recycling allows, each answered file by file.
   * A request cut short by a timeout or a crash goes on from the next file in a new child.
   */
  run(inputs: ReadonlyArray<ExtractionInput>): Effect.Effect<Array<ExtractionOutcome>> {
    const outcomes: Array<ExtractionOutcome> = []
    const next: Effect.Effect<Array<ExtractionOutcome>> = Effect.suspend(() => {
      if (outcomes.length === inputs.length) return Effect.succeed(outcomes)
      clearTimeout(this.idle)
      if (this.parsed >= this.options.recycleAfter) this.stop()
      const part = this.part(inputs, outcomes.length)
      return Effect.tryPromise({
        try: () => this.start(),
        catch: (error) => error instanceof Error ? error : new Error(String(error))
      }).pipe(
        Effect.timeout(STARTUP_TIMEOUT),
        Effect.flatMap(() => this.call(part)),
        Effect.map(({ outcomes: answered, rss }) => {
          outcomes.push(...answered)
          const last = part[answered.length - 1]
          if (last !== undefined && grows(last) && (rss === undefined || rss > LARGE_FILE_RSS)) this.stop()
          return outcomes
        }),
        Effect.catchAll((error) => {
          const message = `the extractor process did not start: ${error.message}`
          while (outcomes.length < inputs.length) outcomes.push(crash(message))
          return Effect.succeed(outcomes)
        }),
        Effect.zipRight(next)
      )
    })
    return next.pipe(Effect.ensuring(this.idleAfter()))
  }

  /** An unused child is stopped after `idleTimeout`. */
  private idleAfter(): Effect.Effect<void> {
    return Effect.sync(() => {
      if (this.options.idleTimeout === undefined) return
      this.idle = setTimeout(() => this.stop(), Duration.toMillis(this.options.idleTimeout)).unref()
    })
  }

  /**
   * Starts a child if none runs, and has it load the parsers of `languages` it has not loaded. A child that
   * does not start or load in time is stopped: the files that follow report it.
   */
  prepare(languages: ReadonlyArray<string>): Effect.Effect<void> {
    return Effect.suspend(() => {
      clearTimeout(this.idle)
      return Effect.tryPromise(() => this.start()).pipe(
        Effect.timeout(STARTUP_TIMEOUT),
        Effect.flatMap(() => {
          const wanted = languages.filter((language) => !this.preparing.has(language))
          wanted.forEach((language) => this.preparing.add(language))
          return wanted.length === 0 ? Effect.void : this.load(wanted)
        }),
        Effect.catchAll(() => Effect.sync(() => this.stop())),
        Effect.ensuring(this.idleAfter())
      )
    })
  }

  private load(languages: ReadonlyArray<string>): Effect.Effect<void> {
    const worker = this.worker!
    return Effect.async<void>((resume) => {
      const id = this.nextId++
      const done = (ok: boolean) => {
        detach()
        if (!ok) this.stop(worker)
        resume(Effect.void)
      }
      const onMessage = (message: ExtractorResponse) => {
        if (message.id === id && "prepared" in message) done(true)
      }
      const onExit = () => done(false)
      const timer = setTimeout(() => done(false), Duration.toMillis(STARTUP_TIMEOUT))
      const detach = () => {
        clearTimeout(timer)
        worker.events.off("message", onMessage).off("error", onExit).off("exit", onExit)
      }
      worker.events.on("message", onMessage).on("error", onExit).on("exit", onExit)
      worker.send({ id, prepare: languages })
      return Effect.sync(() => {
        detach()
        this.stop(worker)
      })
    })
  }

  /** The files of the next request from `from`: up to the recycling limit, and ending at a file that may grow the child. */
  private part(inputs: ReadonlyArray<ExtractionInput>, from: number): ReadonlyArray<ExtractionInput> {
    let budget = Math.max(1, this.options.recycleAfter - this.parsed)
    let end = from
    while (end < inputs.length) {
      const input = inputs[end]!
      if (treeSitter(input) && budget-- === 0) break
      end++
      if (grows(input)) break
    }
    return inputs.slice(from, end)
  }

  private call(part: ReadonlyArray<ExtractionInput>): Effect.Effect<Answers> {
    const worker = this.worker!
    return Effect.async<Answers>((resume) => {
      const id = this.nextId++
      this.parsed += part.filter(treeSitter).length
      const outcomes: Array<ExtractionOutcome> = []
      let rss: number | undefined
      let timer: NodeJS.Timeout | undefined
      // The returned finalizer only runs on interruption: on the last answer the listeners are removed here.
      // An interrupted request would keep its child busy with files nobody waits for, and the next request's
      // first file would wait behind them on its timer: the child goes with it.
      const finish = () => {
        detach()
        resume(Effect.succeed({ outcomes, rss }))
      }
      /** Ends the request at the file being extracted: it gets `outcome`, the rest go to a new child. */
      const cut = (outcome: ExtractionOutcome) => {
        this.stop(worker)
        outcomes.push(outcome)
        finish()
      }
      const giveUpAfter = (duration: Duration.DurationInput, message: string) => {
        clearTimeout(timer)
        timer = setTimeout(() => cut({ _tag: "Failed", reason: "timeout", message }), Duration.toMillis(duration))
      }
      const perFile = () =>
        giveUpAfter(this.options.timeout, `no result within ${Duration.format(this.options.timeout)}`)
      const onMessage = (message: ExtractorResponse) => {
        if (message.id !== id || !("index" in message) || message.index !== outcomes.length) return
        if ("phase" in message) {
          if (message.phase === "loaded") return perFile()
          const language = part[message.index]?.language
          return giveUpAfter(
            STARTUP_TIMEOUT,
            `the parser for ${language} did not load within ${Duration.format(STARTUP_TIMEOUT)}`
          )
        }
        outcomes.push(message.outcome)
        rss = message.rss
        if (outcomes.length === part.length) finish()
        else perFile()
      }
      const onError = (error: Error) => cut(crash(error.message))
      const onExit = (code: number | null, signal: string | null) =>
        cut(crash(`the extractor process exited (${code ?? signal})`))
      const detach = () => {
        clearTimeout(timer)
        worker.events.off("message", onMessage).off("error", onError).off("exit", onExit)
      }
      worker.events.on("message", onMessage).on("error", onError).on("exit", onExit)
      worker.send({ id, files: part.map(({ language, text }) => ({ language, text })) })
      perFile()
      return Effect.sync(() => {
        detach()
        this.stop(worker)
      })
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

    const skipped = (input: ExtractionInput): ExtractionOutcome | undefined => {
      if (options.workers === 0) return { _tag: "Skipped", reason: "disabled" }
      if (!supports(input.language)) return { _tag: "Skipped", reason: "unsupported_language" }
      if (Buffer.byteLength(input.text, "utf8") > options.maxFileSize) return { _tag: "Skipped", reason: "too_large" }
      return undefined
    }

    const extract = (files: ReadonlyArray<ExtractionInput>): Effect.Effect<ReadonlyArray<ExtractionOutcome>> =>
      Effect.suspend(() => {
        const outcomes: Array<ExtractionOutcome | undefined> = files.map(skipped)
        const sent = files.flatMap((_, i) => outcomes[i] === undefined ? [i] : [])
        if (sent.length === 0) return Effect.succeed(outcomes as ReadonlyArray<ExtractionOutcome>)
        const size = Math.ceil(sent.length / (Math.max(1, options.workers) * REQUESTS_PER_WORKER))
        const requests = Array.from({ length: Math.ceil(sent.length / size) }, (_, k) =>
          sent.slice(k * size, (k + 1) * size))
        return Effect.forEach(
          requests,
          (request) =>
            Effect.acquireUseRelease(
              Queue.take(slots),
              (slot) =>
                slot.run(request.map((i) => files[i]!)),
              (slot) => Queue.offer(slots, slot)
            ).pipe(Effect.map((answered) => answered.forEach((outcome, k) => (outcomes[request[k]!] = outcome)))),
          { concurrency: Math.max(1, options.workers), discard: true }
        ).pipe(Effect.as(outcomes as ReadonlyArray<ExtractionOutcome>))
      }).pipe(Effect.withSpan("ExtractorPool.extract", { attributes: { files: files.length } }))

    /**
     * Starts the children not running and has them load the parsers of `languages`, so that a job pays for
     * that while it fetches rather than on its first files. A child busy extracting is left alone.
     */
    const warm = (languages: Iterable<string | null>): Effect.Effect<void> => {
      if (options.workers === 0) return Effect.void
      const wanted = [...new Set(languages)].filter((language): language is string => supports(language))
      return Effect.forEach(
        all,
        () =>
          Queue.poll(slots).pipe(Effect.flatMap(Option.match({
            onNone: () => Effect.void,
            onSome: (slot) => slot.prepare(wanted).pipe(Effect.ensuring(Queue.offer(slots, slot)))
          }))),
        { concurrency: "unbounded", discard: true }
      ).pipe(Effect.withSpan("ExtractorPool.warm", { attributes: { languages: wanted.join(",") } }))
    }

    return {
      /** SYMBOLS_WORKERS=0 turns extraction off: files are indexed for text search only. */
      enabled: options.workers > 0,
      supports,
      warm,
      /** One outcome per file, in order; a file that fails is an outcome, never an error. */
      extract
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
