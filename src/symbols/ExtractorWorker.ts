import type { ExtractionOutcome } from "./Extraction.js"
import { Extractor } from "./Extractor.js"

/** One file to extract, as the pool sends it to a child. */
export interface ExtractorRequest {
  readonly id: number
  readonly language: string | null
  readonly text: string
}

/**
 * A request's answers: `prepared` once its language's parser is loaded (the per-file timeout starts
 * there, so a child loading a grammar or the compiler on a busy machine is not taken for a hung parse),
 * then its outcome.
 */
export type ExtractorResponse =
  | { readonly id: number; readonly prepared: true }
  | {
    readonly id: number
    readonly outcome: ExtractionOutcome
    /** The child's RSS in bytes once the file is done: the pool replaces a child that grew too large. */
    readonly rss?: number
  }

const send = process.send?.bind(process)
if (send === undefined) throw new Error("ExtractorWorker runs as a child process forked with an IPC channel")

// A server that dies without stopping its children closes the channel: leave with it rather than linger.
process.on("disconnect", () => process.exit(0))

const extractor = await Extractor.make()

// One request at a time: the pool waits for each answer before it sends the next.
process.on("message", (request: ExtractorRequest) => {
  extractor.prepare(request.language).then(() => {
    send({ id: request.id, prepared: true } satisfies ExtractorResponse)
    return extractor.extract(request.language, request.text)
  }).then(
    (outcome) => send({ id: request.id, outcome, rss: process.memoryUsage.rss() } satisfies ExtractorResponse),
    (error: unknown) =>
      send(
        {
          id: request.id,
          outcome: { _tag: "Failed", reason: "crash", message: error instanceof Error ? error.message : String(error) }
        } satisfies ExtractorResponse
      )
  )
})
send("ready")
