import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { JobId } from "../domain/Job.js"
import { PermanentJobError, RetryableJobError } from "../domain/Job.js"
import { languageOf } from "../domain/Language.js"
import type { RepositoryId } from "../domain/Repository.js"
import { EXTRACTOR_VERSION } from "../symbols/Extraction.js"
import { ExtractorPool } from "../symbols/ExtractorPool.js"
import { importContext, resolveImport } from "../symbols/ImportResolver.js"
import type { Streamed } from "./indexer/FileStream.js"
import { FileStream, nothingStreamed } from "./indexer/FileStream.js"
import type { Workspace } from "./indexer/GitRemote.js"
import { gitFailure, GitRemote } from "./indexer/GitRemote.js"
import type { ResolveImport } from "./indexer/ImportGraph.js"
import { fileStems, RESOLUTION_CONFIG } from "./indexer/ImportGraph.js"
import type { Skipped } from "./indexer/IndexPlan.js"
import { candidatesOf, classify, comparedOf, decode, deletionsOf, lookupOf } from "./indexer/IndexPlan.js"
import { IndexWriter } from "./indexer/IndexWriter.js"
import { fetchLimitFailure, RepositoryLimits } from "./RepositoryLimits.js"
import { IndexedFileStore } from "./stores/IndexedFileStore.js"
import { JobStore } from "./stores/JobStore.js"
import type { IndexTarget } from "./stores/RepositoryStore.js"
import { RepositoryStore } from "./stores/RepositoryStore.js"

const REPORTED_SKIPS = 20
const SHA = /^[0-9a-f]{40}$/

export interface IndexRequest {
  readonly jobId: JobId
  readonly repositoryId: RepositoryId
  /** `full` rewrites whatever differs from the commit's tree; `incremental` applies `git diff` from the last indexed commit. */
  readonly mode: "full" | "incremental" | "validate"
  /** The exact commit to index (a push's `after`); else the head of the default branch. */
  readonly commit?: string | null
  readonly branch?: string | null
  /** A force push rewrote history: the last indexed commit is no base to diff from. */
  readonly forced?: boolean
}

/** The host took blobless fetches but would not send blobs by id: the update is redone as a full index. */
class BlobsUnavailable extends Data.TaggedError("BlobsUnavailable")<{ readonly message: string }> {}

/**
 * Indexes a repository's tree with the git CLI in a throw-away workspace: a shallow fetch of exactly the
 * commit needed (GitRemote), the plan of what changed (IndexPlan: same blob = no write), the few files
 * import resolution needs (tsconfig.json, jsconfig.json, go.mod), then one transaction (IndexWriter) in
 * which the plan's files are streamed a bounded chunk at a time (FileStream): read from git, decoded,
 * written, and their symbols extracted on the ExtractorPool, so memory follows a chunk, not the commit.
 * The transaction is therefore open while the blobs are read and parsed. Binaries and files over
 * `max_file_size` are skipped; a file whose extraction fails keeps its text search and is reported.
 */
export class Indexer extends Effect.Service<Indexer>()("services/Indexer", {
  effect: Effect.gen(function*() {
    const remote = yield* GitRemote
    const repositories = yield* RepositoryStore
    const files = yield* IndexedFileStore
    const jobs = yield* JobStore
    const extractor = yield* ExtractorPool
    const stream = yield* FileStream
    const writer = yield* IndexWriter
    const limits = yield* RepositoryLimits
    // With extraction off, files are written as never extracted, so turning it on extracts them.
    const extractorVersion = extractor.enabled ? EXTRACTOR_VERSION : 0

    /**
     * The plan of one commit: its tree against the index (compared in the database), the blobs an update
     * lacks, the tenant limits and the import context. The tree and the comparison stay in here: what the
     * write needs is the plan, a few sets of the paths it touches and the import context.
     */
    const planOf = (p: {
      readonly target: IndexTarget
      readonly ws: Workspace
      readonly commit: string
      /** The fetched base to diff from, for an update. */
      readonly base: string | null
      readonly mode: IndexRequest["mode"]
      readonly maxFileSize: number
    }) =>
      Effect.gen(function*() {
        const { commit, maxFileSize, target, ws } = p
        const baseFetched = p.base !== null
        const tree = yield* remote.listTree(ws, commit, !baseFetched)
        const diff = p.base !== null ? yield* remote.diff(ws, p.base, commit) : null
        const mode = diff !== null ? "incremental" : p.mode === "validate" ? "validate" : "full"

        const inTree = candidatesOf(tree, diff)
        // The index's side of the plan, compared in the database in batches: no row per unchanged file comes back.
        const comparison = yield* files.compare(
          target.id,
          comparedOf(inTree, tree, diff),
          extractorVersion,
          diff === null ? (path) => tree.has(path) : null
        )
        const lookup = lookupOf(comparison)
        // Blobless fetches bring no blob: the ones not already indexed are fetched now, then sized.
        const candidates = baseFetched
          ? yield* remote.fetchBlobs(ws, inTree.filter((e) => !lookup.sameBlob(e.path))).pipe(
            Effect.catchTags({
              GitError: (error) => new BlobsUnavailable({ message: error.message }),
              GitLimitExceeded: fetchLimitFailure
            })
          )
          : inTree
        const toDelete = deletionsOf(tree, diff, comparison, lookup)
        const plan = classify(candidates, lookup, maxFileSize)
        // The parsers the files need load while the rest of the plan is made and the first blobs are read.
        yield* Effect.forkScoped(extractor.warm(plan.toRead.map((entry) => languageOf(entry.path))))
        // What the conclusion needs of the comparison, so that neither it nor the tree outlives the plan.
        const indexedBefore = new Set(
          [...plan.skipped.map((s) => s.path), ...plan.toRead.map((e) => e.path)].filter(lookup.isIndexed)
        )
        const filesInTree = tree.size
        // Tenant limits (RepositoryLimits): the index this plan leads to, before any blob is read.
        yield* limits.checkPlan(target.id, {
          sized: candidates.filter((entry) => entry.size <= maxFileSize),
          keptExcept: diff === null ? null : [...candidates.map((entry) => entry.path), ...toDelete]
        })
        const unchanged = plan.unchanged + inTree.length - candidates.length
        const reading = new Map(plan.toRead.map((entry) => [entry.path, entry]))

        // Import resolution needs the module roots and path aliases as of this commit: read before the files.
        const configText = (path: string) =>
          Effect.gen(function*() {
            if (!tree.has(path)) return null
            const entry = reading.get(path)
            if (entry === undefined) return Option.getOrNull(yield* files.text(target.id, path))
            let text: string | null = null
            yield* remote.readBlobs(ws, [entry], { files: 1, bytes: entry.size }, (_, [content]) =>
              Effect.sync(() => {
                const file = decode(entry, content!, extractorVersion)
                text = file === "binary" ? null : file.content
              }))
            return text
          })
        const context = importContext(tree.keys(), {
          tsconfig: (yield* configText("tsconfig.json")) ?? (yield* configText("jsconfig.json")),
          goMod: yield* configText("go.mod")
        })
        return {
          context,
          filesInTree,
          indexedBefore,
          mode,
          plan,
          reading,
          toDelete,
          unchanged
        } as const
      })

    const attempt = (request: IndexRequest) =>
      Effect.gen(function*() {
        const found = yield* repositories.indexTarget(request.repositoryId, { lock: false })
        if (Option.isNone(found)) {
          return yield* new PermanentJobError({ message: `repository ${request.repositoryId} no longer exists` })
        }
        const target: IndexTarget = found.value
        const maxFileSize = limits.maxFileSize(target.settings)
        // Files from an older extractor: the whole commit is read, so each of them gains its symbols.
        const staleExtraction = yield* files.staleExtraction(target.id, extractorVersion)
        const ws = yield* remote.open(target.gitUrl)
        // The extractor processes start while git fetches.
        yield* Effect.forkScoped(extractor.warm([]))

        const branch = request.branch ?? target.defaultBranch
        const ref = request.commit != null && SHA.test(request.commit)
          ? request.commit
          : branch === null
          ? "HEAD"
          : `refs/heads/${branch}`
        // An update needs trees to diff, and only the changed blobs: with `origin` a promisor remote, the
        // base and then the new commit are fetched without blobs (the second negotiating from the
        // first, so it sends only the trees that changed), and `fetchBlobs` takes the blobs to write.
        // A server that ignores the filter sends the blobs, as a whole fetch would.
        const candidateBase = request.mode === "incremental" && request.forced !== true && !staleExtraction
          ? target.lastIndexedCommit
          : null
        const tryBase = candidateBase !== null && candidateBase !== request.commit
        if (tryBase) yield* remote.allowBlobless(ws)
        // A base the server will not give means a full index; a fetch stopped by a limit fails the job.
        const baseFetched = tryBase &&
          (yield* remote.fetch(ws, candidateBase, "refs/kotadb/base", true).pipe(
            Effect.as(true),
            Effect.catchTag("GitError", () => Effect.succeed(false)),
            Effect.mapError(gitFailure)
          ))
        yield* remote.fetch(ws, ref, "refs/kotadb/head", baseFetched).pipe(Effect.mapError(gitFailure))
        const commit = yield* remote.resolveCommit(ws, "refs/kotadb/head")

        // Incremental when there is a base to diff from and it could be fetched; else full.
        const base = candidateBase
        if (base !== null && base === commit) {
          return { mode: "incremental", commit, up_to_date: true }
        }
        const { context, filesInTree, indexedBefore, mode, plan, reading, toDelete, unchanged } = yield* planOf({
          target,
          ws,
          commit,
          base: base !== null && baseFetched ? base : null,
          mode: request.mode,
          maxFileSize
        })
        const resolve: ResolveImport = (i) => resolveImport({ ...i, ...context })

        yield* jobs.appendEvents([{
          jobId: request.jobId,
          type: "progress",
          message: `fetched ${commit.slice(0, 12)}; ${plan.toRead.length} to read, ${toDelete.size} to delete`,
          context: { commit, mode, files: filesInTree }
        }])

        const jobQueuedAt = Option.getOrElse(yield* jobs.queuedAt(request.jobId), () => new Date().toISOString())
        const conclude = (streamed: Streamed) => {
          const skipped: Array<Skipped> = [
            ...plan.skipped,
            ...streamed.binary.map((path) => ({ path, reason: "binary" as const }))
          ]
          const deleted = [...toDelete, ...skipped.map((s) => s.path).filter((p) => indexedBefore.has(p))]
          const added = plan.toRead.filter((e) => !indexedBefore.has(e.path)).map((e) => e.path)
          return {
            deleted,
            reresolve: {
              all: [...reading.keys(), ...deleted].some((p) => RESOLUTION_CONFIG.has(p)),
              stems: [...new Set(added.flatMap(fileStems))],
              targets: deleted
            },
            skipped,
            stats: {
              mode,
              commit,
              ...(mode === "incremental" ? { base } : {}),
              files_in_tree: filesInTree,
              files_processed: streamed.files,
              files_written: streamed.files,
              files_deleted: deleted.length,
              files_unchanged: unchanged,
              bytes_written: streamed.bytes,
              skipped_binary: streamed.binary.length,
              skipped_too_large: plan.skipped.length,
              ...streamed.summary
            }
          }
        }
        const applied = yield* writer.apply({
          jobId: request.jobId,
          target,
          mode,
          base,
          commit,
          branch: request.branch == null && target.defaultBranch === null ? null : branch,
          jobQueuedAt,
          files: stream.write({ repositoryId: target.id, ws, entries: plan.toRead, extractorVersion, resolve }),
          written: new Set(reading.keys()),
          conclude,
          resolve
        })
        if (applied._tag === "gone") {
          return yield* new PermanentJobError({ message: `repository ${target.id} was deleted while indexing` })
        }
        if (applied._tag === "moved") {
          return yield* new RetryableJobError({
            message: "another job indexed this repository meanwhile; planning again"
          })
        }
        if (applied._tag === "superseded") return { ...conclude(nothingStreamed).stats, superseded: true }
        const { deleted, skipped, stats } = conclude(applied.streamed)
        return {
          ...stats,
          ...(request.mode === "validate"
            ? { validated: true, differences: applied.streamed.files + deleted.length }
            : {}),
          skipped: skipped.slice(0, REPORTED_SKIPS),
          extraction_failures: applied.streamed.failures
        }
      }).pipe(Effect.scoped)

    const index = (request: IndexRequest) =>
      attempt(request).pipe(
        Effect.catchTag("BlobsUnavailable", (error) =>
          Effect.logWarning("blobs by id refused after a blobless fetch; indexing the whole commit instead").pipe(
            Effect.annotateLogs({ repositoryId: request.repositoryId, error: error.message }),
            Effect.zipRight(attempt({ ...request, mode: "full" }))
          )),
        // A full index never fetches blobs by id, so this only satisfies the types.
        Effect.catchTag("BlobsUnavailable", (error) =>
          new RetryableJobError({ message: error.message })),
        Effect.withSpan("Indexer.index", {
          attributes: { "repository.id": request.repositoryId, "index.mode": request.mode }
        })
      )

    return { index } as const
  })
}) {}
