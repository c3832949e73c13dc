import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type { PermanentJobError, RetryableJobError } from "../../domain/Job.js"
import { ExtractorPool } from "../../symbols/ExtractorPool.js"
import { CodeIntelStore } from "../stores/CodeIntelStore.js"
import type { IndexedFile } from "../stores/IndexedFileStore.js"
import { IndexedFileStore } from "../stores/IndexedFileStore.js"
import type { IntelligenceSummary } from "./FileIntelligence.js"
import { addIntelligence, fileIntelligence, noIntelligence } from "./FileIntelligence.js"
import type { TreeEntry } from "./GitObjects.js"
import type { Workspace } from "./GitRemote.js"
import { GitRemote } from "./GitRemote.js"
import type { ResolveImport } from "./ImportGraph.js"
import { decode } from "./IndexPlan.js"

/**
 * A chunk: what one pass holds at once. Its raw blobs, their text, the text's search chunks and folded
 * copies, the statements' encoded arrays, the copies sent to the extractor processes and what they send back
 * are each about the chunk's size or a small multiple of it, so a MiB keeps a pass well inside the
 * process's memory budget (SPEC section 12; figures in bench/README.md, index section), while the
 * statements per chunk (about ten) stay few next to the work. The file bound keeps each chunk to one
 * `unnest` statement per table (IndexedFileStore's batch).
 */
export const CHUNK = { files: 100, bytes: 1024 * 1024 } as const

/** What streaming the files wrote: the counts of the job result, added up chunk by chunk. */
export interface Streamed extends IntelligenceSummary {
  readonly files: number
  readonly bytes: number
  /** Files git calls binary: skipped, and deleted when an older version was indexed. */
  readonly binary: ReadonlyArray<string>
}

export const nothingStreamed: Streamed = { ...noIntelligence, files: 0, bytes: 0, binary: [] }

export interface StreamRequest {
  readonly repositoryId: string
  readonly ws: Workspace
  readonly entries: ReadonlyArray<TreeEntry>
  readonly extractorVersion: number
  readonly resolve: ResolveImport
}

/**
 * How many chunks the reader may be ahead of the writer. At 1, the next chunk is read and queued for the
 * extractor processes while this one is parsed and written, so at most two chunks (their text, and what
 * their parse found) are held at once; the writer, not the extractors, is what a deeper look-ahead would
 * wait on (bench/README.md, index section, "Keeping the extractors busy").
 */
export const LOOKAHEAD = 1

/**
 * Writes a plan's files into the index a chunk at a time, inside the caller's transaction, as a pipeline of
 * three stages: the reader reads a chunk's blobs from git and decodes them; the extractor processes parse
 * it as soon as it is read (one chunk after the other, without waiting for its writes); the writer upserts
 * its text and search chunks, then, once it is parsed, its symbols, references and imports, and lets it go.
 * The reader stays at most LOOKAHEAD chunks ahead of the writer, which bounds what is held.
 */
export class FileStream extends Effect.Service<FileStream>()("services/indexer/FileStream", {
  effect: Effect.gen(function*() {
    const remote = yield* GitRemote
    const files = yield* IndexedFileStore
    const intel = yield* CodeIntelStore
    const extractor = yield* ExtractorPool

    const write = (request: StreamRequest): Effect.Effect<Streamed, PermanentJobError | RetryableJobError> =>
      Effect.gen(function*() {
        let streamed = nothingStreamed
        // Under the repository's row lock: no file stored means nothing of these paths to delete.
        const stored = yield* files.holdsAny(request.repositoryId)
        // The last chunk's extraction and write; each stage's next step starts when its previous one ends.
        let extracted: Effect.Effect<unknown> = Effect.void
        const written: Array<Fiber.Fiber<void>> = []
        yield* remote.readBlobs(request.ws, request.entries, CHUNK, (entries, contents) =>
          Effect.gen(function*() {
            const text: Array<IndexedFile> = []
            const binary: Array<string> = []
            entries.forEach((entry, i) => {
              const file = decode(entry, contents[i]!, request.extractorVersion)
              if (file === "binary") binary.push(entry.path)
              else text.push(file)
            })
            const extraction = yield* extracted.pipe(
              Effect.zipRight(fileIntelligence(extractor, text, request.resolve)),
              Effect.forkScoped
            )
            extracted = Fiber.await(extraction)
            const previous = written.at(-1)
            const writing = yield* Effect.gen(function*() {
              if (previous !== undefined) yield* Fiber.join(previous)
              yield* files.upsert(request.repositoryId, text, stored)
              const found = yield* Fiber.join(extraction)
              yield* intel.replace(request.repositoryId, stored ? text.map((f) => f.path) : [], found.intel)
              streamed = {
                ...addIntelligence(streamed, found),
                files: streamed.files + text.length,
                bytes: streamed.bytes + text.reduce((sum, f) => sum + f.sizeBytes, 0),
                binary: binary.length === 0 ? streamed.binary : [...streamed.binary, ...binary]
              }
            }).pipe(Effect.forkScoped)
            written.push(writing)
            // Back-pressure: the next chunk is read only once the writer is at most LOOKAHEAD chunks behind.
            if (written.length > LOOKAHEAD) yield* Fiber.join(written.shift()!)
          }))
        for (const writing of written) yield* Fiber.join(writing)
        return streamed
      }).pipe(
        // A failed read ends the parses and writes still running before the caller rolls the transaction
        // back: none of them may go on writing on its connection.
        Effect.scoped,
        Effect.withSpan("FileStream.write", {
          attributes: { "repository.id": request.repositoryId, files: request.entries.length }
        })
      )

    return { write } as const
  })
}) {}
