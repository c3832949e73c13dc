import { SqlClient } from "@effect/sql"
import { Data, Effect, Option } from "effect"
import { lookup } from "node:dns/promises"
import { isIP } from "node:net"
import { isPublicAddress } from "../domain/GitUrl.js"
import type { JobId } from "../domain/Job.js"
import { PermanentJobError, RetryableJobError } from "../domain/Job.js"
import { languageOf } from "../domain/Language.js"
import type { RepositoryId } from "../domain/Repository.js"
import { AppConfig } from "./AppConfig.js"
import type { GitError, GitLimitExceeded } from "./Git.js"
import { Git } from "./Git.js"
import { fetchLimitFailure, RepositoryLimits } from "./RepositoryLimits.js"
import type { IndexedFile } from "./stores/IndexedFileStore.js"
import { IndexedFileStore } from "./stores/IndexedFileStore.js"
import { JobStore } from "./stores/JobStore.js"
import type { IndexTarget } from "./stores/RepositoryStore.js"
import { RepositoryStore } from "./stores/RepositoryStore.js"

// Blobs are read through one `git cat-file --batch` per chunk of at most this many bytes / objects.
const READ_CHUNK_BYTES = 32 * 1024 * 1024
const READ_CHUNK_OBJECTS = 2_000
// Git's own test for binary content: a NUL byte in the first 8000 bytes.
const BINARY_SNIFF_BYTES = 8000
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

interface TreeEntry {
  readonly path: string
  readonly blobSha: string
  readonly size: number
}

interface Skipped {
  readonly path: string
  readonly reason: "binary" | "too_large"
}

/**
 * `git ls-tree -r -z [-l]`: regular files only (no symlinks, no submodules). Without `-l` (a blobless
 * base, where sizes would make git fetch every blob) the size is -1 until `fetchBlobs` fills it in.
 */
const parseTree = (out: Buffer) => {
  const entries = new Map<string, TreeEntry>()
  for (const record of out.toString("utf8").split("\0")) {
    if (record === "") continue
    const tab = record.indexOf("\t")
    const [mode, type, sha, size] = record.slice(0, tab).split(/\s+/)
    if (type !== "blob" || (mode !== "100644" && mode !== "100755")) continue
    entries.set(record.slice(tab + 1), {
      path: record.slice(tab + 1),
      blobSha: sha!,
      size: size === undefined ? -1 : Number(size)
    })
  }
  return entries
}

/** `git diff --name-status -z`: paths to (re)write and paths to delete. */
const parseDiff = (out: Buffer) => {
  const fields = out.toString("utf8").split("\0")
  const written = new Set<string>()
  const deleted = new Set<string>()
  for (let i = 0; i < fields.length - 1;) {
    const status = fields[i++]!
    if (status.startsWith("R") || status.startsWith("C")) {
      const from = fields[i++]!
      const to = fields[i++]!
      if (status.startsWith("R")) deleted.add(from)
      written.add(to)
    } else {
      const path = fields[i++]!
      if (status === "D") deleted.add(path)
      else written.add(path)
    }
  }
  return { written, deleted }
}

/** Splits `git cat-file --batch` output into the contents of the requested blobs, in order. */
const parseBatch = (out: Buffer) => {
  const blobs: Array<Buffer> = []
  let at = 0
  while (at < out.length) {
    const newline = out.indexOf(10, at)
    const size = Number(out.subarray(at, newline).toString("latin1").split(" ")[2])
    blobs.push(out.subarray(newline + 1, newline + 1 + size))
    at = newline + 1 + size + 1
  }
  return blobs
}

const lineCount = (text: string) => {
  if (text.length === 0) return 0
  let lines = 0
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) lines++
  return text.endsWith("\n") ? lines : lines + 1
}

/** The host took blobless fetches but would not send blobs by id: the update is redone as a full index. */
class BlobsUnavailable extends Data.TaggedError("BlobsUnavailable")<{ readonly message: string }> {}

/** Gives up on a transfer slower than 1 kB/s for a minute. */
const SLOW_TRANSFER = ["-c", "http.lowSpeedLimit=1000", "-c", "http.lowSpeedTime=60"] as const

const gitFailure = (error: GitError | GitLimitExceeded) => {
  if (error._tag === "GitLimitExceeded") return fetchLimitFailure(error)
  const stderr = error.stderr.toLowerCase()
  const permanent = stderr.includes("repository not found") || stderr.includes("authentication failed") ||
    stderr.includes("could not read username") || stderr.includes("not found") && stderr.includes("404")
  return permanent
    ? new PermanentJobError({ message: error.message })
    : new RetryableJobError({ message: error.message })
}

/**
 * Indexes a repository's tree into `indexed_files` with the git CLI in a throw-away workspace: a
 * shallow fetch of exactly the commit needed, then only what changed is written (same blob = no
 * write), what is gone is deleted, binaries and files over `max_file_size` are skipped. The writes,
 * the repository's last indexed commit and the usage rows commit together, under the repository's
 * row lock, and a job queued before the one that wrote the current index never overwrites it.
 */
export class Indexer extends Effect.Service<Indexer>()("services/Indexer", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const git = yield* Git
    const repositories = yield* RepositoryStore
    const files = yield* IndexedFileStore
    const jobs = yield* JobStore
    const config = yield* AppConfig
    const limits = yield* RepositoryLimits

    /**
     * The URL's host must still resolve to public addresses when we connect (DNS may have changed
     * since registration); git is pinned to the address checked, so a rebinding cannot slip in.
     */
    const connectOptions = (gitUrl: string) =>
      Effect.gen(function*() {
        const url = new URL(gitUrl)
        const host = url.hostname.replace(/^\[|\]$/g, "")
        const port = url.port === "" ? (url.protocol === "http:" ? "80" : "443") : url.port
        const protocols = ["-c", "protocol.allow=never", "-c", `protocol.${url.protocol.slice(0, -1)}.allow=always`]
        if (isIP(host) !== 0) {
          if (!config.gitAllowPrivateHosts && !isPublicAddress(host)) {
            return yield* new PermanentJobError({ message: `${host} is not a public address` })
          }
          return protocols
        }
        const addresses = yield* Effect.tryPromise({
          try: () => lookup(host, { all: true }),
          catch: (error) => new RetryableJobError({ message: `cannot resolve ${host}: ${String(error)}` })
        })
        const allowed = addresses.filter((a) => config.gitAllowPrivateHosts || isPublicAddress(a.address))
        if (allowed.length === 0 || allowed.length !== addresses.length) {
          return yield* new PermanentJobError({ message: `${host} resolves to a private or reserved address` })
        }
        const pinned = allowed[0]!.family === 6 ? `[${allowed[0]!.address}]` : allowed[0]!.address
        return [...protocols, "-c", `http.curloptResolve=${host}:${port}:${pinned}`]
      })

    /**
     * Fetches `ref` (depth 1) from `origin` into the local ref `into`: refs make the next fetch negotiate
     * from what we have. `blobless`: commits and trees only.
     */
    const fetch = (dir: string, options: ReadonlyArray<string>, ref: string, into: string, blobless = false) =>
      git.fetch(dir, [
        ...options,
        ...SLOW_TRANSFER,
        "fetch",
        "--quiet",
        "--no-tags",
        "--depth=1",
        // git makes a filter the remote's default for later fetches: anything else is fetched whole.
        blobless ? "--filter=blob:none" : "--no-filter",
        "origin",
        `${ref}:${into}`
      ])

    /**
     * After blobless fetches: the blobs of `entries` in one request, with their sizes. No negotiation,
     * so the server sends whole objects: deltas against the base's blobs, which we do not have, would
     * make git fetch each base on its own.
     */
    const fetchBlobs = (dir: string, options: ReadonlyArray<string>, entries: ReadonlyArray<TreeEntry>) => {
      if (entries.length === 0) return Effect.succeed([])
      const shas = entries.map((e) => e.blobSha).join("\n") + "\n"
      return git.fetch(dir, [
        ...options,
        ...SLOW_TRANSFER,
        "-c",
        "fetch.negotiationAlgorithm=noop",
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        "--recurse-submodules=no",
        "--filter=blob:none",
        "--stdin",
        "origin"
      ], { stdin: shas }).pipe(
        Effect.zipRight(git.run(dir, [...options, "cat-file", "--batch-check"], { stdin: shas })),
        Effect.map((out) => {
          const lines = out.toString("latin1").split("\n")
          return entries.map((entry, i) => ({ ...entry, size: Number(lines[i]!.split(" ")[2]) }))
        })
      )
    }

    /** Reads blob contents, a bounded chunk per `git cat-file --batch`. */
    const readBlobs = (dir: string, options: ReadonlyArray<string>, entries: ReadonlyArray<TreeEntry>) =>
      Effect.gen(function*() {
        const contents: Array<Buffer> = []
        let start = 0
        while (start < entries.length) {
          let end = start
          let bytes = 0
          while (
            end < entries.length && end - start < READ_CHUNK_OBJECTS &&
            (end === start || bytes + entries[end]!.size <= READ_CHUNK_BYTES)
          ) {
            bytes += entries[end]!.size
            end++
          }
          const chunk = entries.slice(start, end)
          const out = yield* git.run(dir, [...options, "cat-file", "--batch"], {
            stdin: chunk.map((e) => e.blobSha).join("\n") + "\n"
          })
          contents.push(...parseBatch(out))
          start = end
        }
        return contents
      })

    const attempt = (request: IndexRequest) =>
      Effect.gen(function*() {
        const found = yield* repositories.indexTarget(request.repositoryId, { lock: false })
        if (Option.isNone(found)) {
          return yield* new PermanentJobError({ message: `repository ${request.repositoryId} no longer exists` })
        }
        const target: IndexTarget = found.value
        const maxFileSize = limits.maxFileSize(target.settings)
        const options = yield* connectOptions(target.gitUrl)
        const dir = yield* git.workspace
        yield* git.run(dir, ["init", "--quiet", "--bare"]).pipe(Effect.mapError(gitFailure))
        yield* git.run(dir, ["remote", "add", "origin", target.gitUrl]).pipe(Effect.mapError(gitFailure))

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
        const candidateBase = request.mode === "incremental" && request.forced !== true
          ? target.lastIndexedCommit
          : null
        const tryBase = candidateBase !== null && candidateBase !== request.commit
        if (tryBase) {
          yield* git.run(dir, ["config", "remote.origin.promisor", "true"]).pipe(Effect.mapError(gitFailure))
          yield* git.run(dir, ["config", "extensions.partialClone", "origin"]).pipe(Effect.mapError(gitFailure))
        }
        // A base the server will not give means a full index; a fetch stopped by a limit fails the job.
        const baseFetched = tryBase &&
          (yield* fetch(dir, options, candidateBase, "refs/kotadb/base", true).pipe(
            Effect.as(true),
            Effect.catchTag("GitError", () => Effect.succeed(false)),
            Effect.mapError(gitFailure)
          ))
        yield* fetch(dir, options, ref, "refs/kotadb/head", baseFetched).pipe(Effect.mapError(gitFailure))
        const commit =
          (yield* git.run(dir, ["rev-parse", "refs/kotadb/head^{commit}"]).pipe(Effect.mapError(gitFailure)))
            .toString("utf8").trim()
        const tree = parseTree(
          yield* git.run(dir, ["ls-tree", "-r", "-z", ...(baseFetched ? [] : ["-l"]), commit]).pipe(
            Effect.mapError(gitFailure)
          )
        )

        // Incremental when there is a base to diff from and it could be fetched; else full.
        const base = candidateBase
        let mode: "full" | "incremental" | "validate" = request.mode === "validate" ? "validate" : "full"
        let diff: { written: Set<string>; deleted: Set<string> } | null = null
        if (base !== null && base === commit) {
          return { mode: "incremental", commit, up_to_date: true }
        }
        if (base !== null && baseFetched) {
          diff = parseDiff(
            // No rename detection: it would read the base's blobs, and a rename is a delete plus a write here.
            yield* git.run(dir, ["diff", "--name-status", "-z", "--no-renames", base, commit]).pipe(
              Effect.mapError(gitFailure)
            )
          )
          mode = "incremental"
        }

        const existing = yield* files.blobShas(target.id)
        const inTree = diff === null ? [...tree.values()] : [...diff.written].flatMap((p) => {
          const entry = tree.get(p)
          return entry === undefined ? [] : [entry]
        })
        // Blobless fetches bring no blob: the ones not already indexed are fetched now, then sized.
        const candidates = baseFetched
          ? yield* fetchBlobs(dir, options, inTree.filter((e) => existing.get(e.path) !== e.blobSha)).pipe(
            Effect.catchTags({
              GitError: (error) => new BlobsUnavailable({ message: error.message }),
              GitLimitExceeded: fetchLimitFailure
            })
          )
          : inTree
        const toDelete = new Set<string>(
          diff === null
            ? [...existing.keys()].filter((path) => !tree.has(path))
            : [...diff.deleted, ...[...diff.written].filter((p) => !tree.has(p))].filter((p) => existing.has(p))
        )
        const skipped: Array<Skipped> = []
        const toRead: Array<TreeEntry> = []
        let unchanged = inTree.length - candidates.length
        for (const entry of candidates) {
          if (entry.size > maxFileSize) skipped.push({ path: entry.path, reason: "too_large" })
          else if (existing.get(entry.path) === entry.blobSha) unchanged++
          else toRead.push(entry)
        }
        // Tenant limits (RepositoryLimits): the index this plan leads to, before any blob is read.
        yield* limits.checkPlan(target.id, {
          sized: candidates.filter((entry) => entry.size <= maxFileSize),
          keptExcept: diff === null ? null : [...candidates.map((entry) => entry.path), ...toDelete]
        })
        const contents = yield* readBlobs(dir, options, toRead).pipe(Effect.mapError(gitFailure))
        const toWrite: Array<IndexedFile> = []
        let bytes = 0
        for (const [i, entry] of toRead.entries()) {
          const content = contents[i]!
          if (content.subarray(0, BINARY_SNIFF_BYTES).includes(0)) {
            skipped.push({ path: entry.path, reason: "binary" })
            continue
          }
          const text = content.toString("utf8")
          bytes += content.length
          toWrite.push({
            path: entry.path,
            blobSha: entry.blobSha,
            language: languageOf(entry.path),
            sizeBytes: content.length,
            lineCount: lineCount(text),
            content: text
          })
        }
        for (const { path } of skipped) if (existing.has(path)) toDelete.add(path)
        yield* jobs.appendEvents([{
          jobId: request.jobId,
          type: "progress",
          message: `fetched ${commit.slice(0, 12)}; ${toWrite.length} to write, ${toDelete.size} to delete`,
          context: { commit, mode, files: tree.size }
        }])

        const jobQueuedAt = Option.getOrElse(yield* jobs.queuedAt(request.jobId), () => new Date().toISOString())
        const stats = {
          mode,
          commit,
          ...(mode === "incremental" ? { base } : {}),
          files_in_tree: tree.size,
          files_written: toWrite.length,
          files_deleted: toDelete.size,
          files_unchanged: unchanged,
          bytes_written: bytes,
          skipped_binary: skipped.filter((s) => s.reason === "binary").length,
          skipped_too_large: skipped.filter((s) => s.reason === "too_large").length
        }
        const applied = yield* sql.withTransaction(Effect.gen(function*() {
          const locked = (yield* repositories.indexTarget(target.id, { lock: true })).pipe(Option.getOrUndefined)
          if (locked === undefined) return "gone" as const
          if (locked.indexedJobQueuedAt !== null && locked.indexedJobQueuedAt > jobQueuedAt) {
            return "superseded" as const
          }
          if (mode === "incremental" && locked.lastIndexedCommit !== base) return "moved" as const
          yield* files.upsert(target.id, toWrite)
          yield* files.remove(target.id, [...toDelete])
          yield* repositories.markIndexed(target.id, {
            commit,
            branch: request.branch == null && target.defaultBranch === null ? null : branch,
            jobQueuedAt,
            stats
          })
          yield* files.recordUsage({
            repositoryId: target.id,
            jobId: request.jobId,
            apiKeyId: locked.apiKeyId,
            userId: locked.userId,
            files: toWrite.length,
            bytes,
            commit
          })
          return "applied" as const
        })).pipe(Effect.orDie)
        if (applied === "gone") {
          return yield* new PermanentJobError({ message: `repository ${target.id} was deleted while indexing` })
        }
        if (applied === "moved") {
          return yield* new RetryableJobError({
            message: "another job indexed this repository meanwhile; planning again"
          })
        }
        if (applied === "superseded") return { ...stats, superseded: true }
        return {
          ...stats,
          ...(request.mode === "validate" ? { validated: true, differences: toWrite.length + toDelete.size } : {}),
          skipped: skipped.slice(0, REPORTED_SKIPS)
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
