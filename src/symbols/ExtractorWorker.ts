import { parentPort } from "node:worker_threads"
import type { ExtractionOutcome } from "./Extraction.js"
import { Extractor } from "./Extractor.js"

/** One file to extract, as the pool posts it to a thread. */
export interface ExtractorRequest {
  readonly id: number
  readonly language: string | null
  readonly text: string
}

export interface ExtractorResponse {
  readonly id: number
  readonly outcome: ExtractionOutcome
}

const port = parentPort
if (port === null) throw new Error("ExtractorWorker runs in a worker thread")

const extractor = await Extractor.make()

// One request at a time: the pool waits for each answer before it posts the next.
port.on("message", (request: ExtractorRequest) => {
  extractor.extract(request.language, request.text).then(
    (outcome) => port.postMessage({ id: request.id, outcome } satisfies ExtractorResponse),
    (error: unknown) =>
      port.postMessage(
        {
          id: request.id,
          outcome: { _tag: "Failed", reason: "crash", message: error instanceof Error ? error.message : String(error) }
        } satisfies ExtractorResponse
      )
  )
})
port.postMessage("ready")
