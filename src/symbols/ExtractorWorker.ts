import type { ExtractionOutcome } from "./Extraction.js"
import { Extractor } from "./Extractor.js"
import type { ExtractorRequest, ExtractorResponse, PrepareRequest } from "./ExtractorProtocol.js"
import { LARGE_FILE } from "./ExtractorProtocol.js"

const send = process.send?.bind(process)
if (send === undefined) throw new Error("ExtractorWorker runs as a child process forked with an IPC channel")
const answer = (response: ExtractorResponse) => void send(response)

// A server that dies without stopping its children closes the channel: leave with it rather than linger.
process.on("disconnect", () => process.exit(0))

const extractor = await Extractor.make()

const extract = async (language: string | null, text: string): Promise<ExtractionOutcome> => {
  try {
    return await extractor.extract(language, text)
  } catch (error) {
    return { _tag: "Failed", reason: "crash", message: error instanceof Error ? error.message : String(error) }
  }
}

const run = async ({ files, id }: ExtractorRequest) => {
  for (let index = 0; index < files.length; index++) {
    const { language, text } = files[index]!
    if (!extractor.prepared(language)) {
      answer({ id, index, phase: "loading" })
      await extractor.prepare(language).catch(() => undefined) // extract reports the failure
      answer({ id, index, phase: "loaded" })
    }
    const outcome = await extract(language, text)
    answer(text.length > LARGE_FILE ? { id, index, outcome, rss: process.memoryUsage.rss() } : { id, index, outcome })
  }
}

const prepare = async ({ id, prepare: languages }: PrepareRequest) => {
  for (const language of languages) await extractor.prepare(language).catch(() => undefined) // extract reports it
  answer({ id, prepared: true })
}

// Requests run one after another, in the order they came.
let queue = Promise.resolve()
process.on("message", (request: ExtractorRequest | PrepareRequest) => {
  queue = queue.then(() => "prepare" in request ? prepare(request) : run(request))
})
send("ready")
