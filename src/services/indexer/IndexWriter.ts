import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { JobId, PermanentJobError, RetryableJobError } from "../../domain/Job.js"
import { CodeIntelStore } from "../stores/CodeIntelStore.js"
import { IndexedFileStore } from "../stores/IndexedFileStore.js"
import type { IndexTarget } from "../stores/RepositoryStore.js"
import { RepositoryStore } from "../stores/RepositoryStore.js"
import type { Streamed } from "./FileStream.js"
import type { ResolveImport } from "./ImportGraph.js"
import { resolveStored } from "./ImportGraph.js"

/** What follows the files, decided from what streaming them found (files that turned binary are deleted). */
export interface IndexConclusion {
  readonly deleted: ReadonlyArray<string>
  /** Imports of unchanged files to resolve again: all of them, or by the stems of new files and deleted targets. */
  readonly reresolve: {
    readonly all: boolean
    readonly stems: ReadonlyArray<string>
    readonly targets: ReadonlyArray<string>
  }
  readonly stats: Record<string, unknown>
}

export interface IndexWrite {
  readonly jobId: JobId
  readonly target: IndexTarget
  readonly mode: "full" | "incremental" | "validate"
  /** The commit an incremental update was diffed from: the index must still be at it. */
  readonly base: string | null
  readonly commit: string
  readonly branch: string | null
  readonly jobQueuedAt: string
  /** Writes the files with their symbols, a chunk at a time (FileStream), once the checks have passed. */
  readonly files: Effect.Effect<Streamed, PermanentJobError | RetryableJobError>
  /** The paths `files` may write: their imports are resolved as they are written. */
  readonly written: ReadonlySet<string>
  readonly conclude: (streamed: Streamed) => IndexConclusion
  readonly resolve: ResolveImport
}

/**
 * Writes an index in one transaction, under the repository's row lock: the files streamed in chunks (their
 * text, search chunks, symbols, references and imports), the deletions, the imports to resolve again, the
 * repository's indexed commit and the usage rows. The blobs are read from git while the transaction is open
 * (that is what bounds memory by a chunk), so it lasts as long as reading, parsing and writing them. A job
 * queued before the one that wrote the current index never overwrites it, and an update applies only to
 * the commit it was diffed from; both are checked before anything is read.
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
        const streamed = yield* write.files
        const { deleted, reresolve, stats } = write.conclude(streamed)
        yield* files.remove(repositoryId, deleted)
        yield* intel.remove(repositoryId, deleted)
        const stale = (yield* intel.importsToResolve(repositoryId, reresolve)).filter((k) => !write.written.has(k.path))
        yield* intel.reresolve(repositoryId, resolveStored(stale, write.resolve))
        yield* repositories.markIndexed(repositoryId, {
          commit: write.commit,
          branch: write.branch,
          jobQueuedAt: write.jobQueuedAt,
          stats
        })
        yield* files.recordUsage({
          repositoryId,
          jobId: write.jobId,
          apiKeyId: locked.apiKeyId,
          userId: locked.userId,
          files: streamed.files,
          bytes: streamed.bytes,
          commit: write.commit
        })
        return { _tag: "applied", streamed } as const
      })).pipe(
        Effect.catchTag("SqlError", Effect.die),
        Effect.withSpan("IndexWriter.apply", { attributes: { "repository.id": write.target.id } })
      )

    return { apply } as const
  })
}) {}
