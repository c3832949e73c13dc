import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { JobId } from "../../domain/Job.js"
import { CodeIntelStore } from "../stores/CodeIntelStore.js"
import type { IndexedFile } from "../stores/IndexedFileStore.js"
import { IndexedFileStore } from "../stores/IndexedFileStore.js"
import type { IndexTarget } from "../stores/RepositoryStore.js"
import { RepositoryStore } from "../stores/RepositoryStore.js"
import type { FileIntelligence } from "./FileIntelligence.js"
import type { ResolveImport } from "./ImportGraph.js"
import { resolveStored } from "./ImportGraph.js"

export interface IndexWrite {
  readonly jobId: JobId
  readonly target: IndexTarget
  readonly mode: "full" | "incremental" | "validate"
  /** The commit an incremental update was diffed from: the index must still be at it. */
  readonly base: string | null
  readonly commit: string
  readonly branch: string | null
  readonly jobQueuedAt: string
  readonly files: ReadonlyArray<IndexedFile>
  /** The files' symbols, references and imports: extracted while the text is written. */
  readonly intelligence: Effect.Effect<FileIntelligence>
  readonly deleted: ReadonlyArray<string>
  /** Imports of unchanged files to resolve again: all of them, or by the stems of new files and deleted targets. */
  readonly reresolve: {
    readonly all: boolean
    readonly stems: ReadonlyArray<string>
    readonly targets: ReadonlyArray<string>
  }
  readonly resolve: ResolveImport
  readonly stats: Record<string, unknown>
  readonly bytes: number
}

/**
 * Writes an index in one transaction (extraction, off the main thread, runs beside its text writes), under the repository's row lock: files, their chunks and their
 * symbols, references and imports, the deletions, the repository's indexed commit and the usage rows. A job
 * queued before the one that wrote the current index never overwrites it, and an update applies only to the
 * commit it was diffed from.
 */
export class IndexWriter extends Effect.Service<IndexWriter>()("services/indexer/IndexWriter", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const repositories = yield* RepositoryStore
    const files = yield* IndexedFileStore
    const intel = yield* CodeIntelStore

    const apply = (write: IndexWrite) =>
      sql.withTransaction(Effect.gen(function*() {
        const locked = (yield* repositories.indexTarget(write.target.id, { lock: true })).pipe(Option.getOrUndefined)
        if (locked === undefined) return { _tag: "gone" } as const
        if (locked.indexedJobQueuedAt !== null && locked.indexedJobQueuedAt > write.jobQueuedAt) {
          return { _tag: "superseded" } as const
        }
        if (write.mode === "incremental" && locked.lastIndexedCommit !== write.base) return { _tag: "moved" } as const
        const repositoryId = write.target.id
        const written = write.files.map((f) => f.path)
        const [, intelligence] = yield* Effect.all([
          files.upsert(repositoryId, write.files).pipe(Effect.zipRight(files.remove(repositoryId, write.deleted))),
          write.intelligence
        ], { concurrency: 2 })
        yield* intel.replace(repositoryId, written, intelligence.intel)
        yield* intel.remove(repositoryId, write.deleted)
        const writtenSet = new Set(written)
        const stale = (yield* intel.importsToResolve(repositoryId, write.reresolve)).filter((k) =>
          !writtenSet.has(k.path)
        )
        yield* intel.reresolve(repositoryId, resolveStored(stale, write.resolve))
        yield* repositories.markIndexed(repositoryId, {
          commit: write.commit,
          branch: write.branch,
          jobQueuedAt: write.jobQueuedAt,
          stats: { ...write.stats, ...intelligence.summary }
        })
        yield* files.recordUsage({
          repositoryId,
          jobId: write.jobId,
          apiKeyId: locked.apiKeyId,
          userId: locked.userId,
          files: write.files.length,
          bytes: write.bytes,
          commit: write.commit
        })
        return { _tag: "applied", intelligence } as const
      })).pipe(Effect.orDie, Effect.withSpan("IndexWriter.apply", { attributes: { "repository.id": write.target.id } }))

    return { apply } as const
  })
}) {}
