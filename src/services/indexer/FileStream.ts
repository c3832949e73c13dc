import * as Effect from "effect/Effect"
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
 * Writes a plan's files into the index a chunk at a time, inside the caller's transaction: reads the
 * chunk's blobs from git, decodes them, upserts their text and search chunks while the extractor processes
 * parse them, and lets the text go before reading the next; the chunk's symbols, references and imports are
 * written beside the next chunk's parse. At most two chunks are held at once.
 */
export class FileStream extends Effect.Service<FileStream>()("services/indexer/FileStream", {
  effect: Effect.gen(function*() {
    const remote = yield* GitRemote
    const files = yield* IndexedFileStore
    const intel = yield* CodeIntelStore
    const extractor = yield* ExtractorPool

    // The previous chunk's symbols are written while this chunk is parsed: the extractor processes do not
    // wait for Postgres, and at most that chunk's symbols are held beside this chunk.
    const writeChunk = (
      repositoryId: string,
      chunk: ReadonlyArray<IndexedFile>,
      resolve: ResolveImport,
      previous: Effect.Effect<void>
    ) =>
      Effect.map(
        Effect.all([
          previous.pipe(Effect.zipRight(files.upsert(repositoryId, chunk))),
          fileIntelligence(extractor, chunk, resolve)
        ], { concurrency: 2 }),
        ([, found]) => ({
          found: { summary: found.summary, failures: found.failures },
          pending: intel.replace(repositoryId, chunk.map((f) => f.path), found.intel)
        })
      )

    const write = (request: StreamRequest): Effect.Effect<Streamed, PermanentJobError | RetryableJobError> =>
      Effect.gen(function*() {
        let streamed = nothingStreamed
        let pending: Effect.Effect<void> = Effect.void
        yield* remote.readBlobs(request.ws, request.entries, CHUNK, (entries, contents) => {
          const text: Array<IndexedFile> = []
          const binary: Array<string> = []
          entries.forEach((entry, i) => {
            const file = decode(entry, contents[i]!, request.extractorVersion)
            if (file === "binary") binary.push(entry.path)
            else text.push(file)
          })
          return writeChunk(request.repositoryId, text, request.resolve, pending).pipe(Effect.map((written) => {
            pending = written.pending
            streamed = {
              ...addIntelligence(streamed, written.found),
              files: streamed.files + text.length,
              bytes: streamed.bytes + text.reduce((sum, f) => sum + f.sizeBytes, 0),
              binary: binary.length === 0 ? streamed.binary : [...streamed.binary, ...binary]
            }
          }))
        })
        yield* pending
        return streamed
      }).pipe(
        Effect.withSpan("FileStream.write", {
          attributes: { "repository.id": request.repositoryId, files: request.entries.length }
        })
      )

    return { write } as const
  })
}) {}
