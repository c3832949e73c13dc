import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"
import { lookup } from "node:dns/promises"
import { isIP } from "node:net"
import { isPublicAddress } from "../../domain/GitUrl.js"
import { PermanentJobError, RetryableJobError } from "../../domain/Job.js"
import { AppConfig } from "../AppConfig.js"
import type { GitLimitExceeded } from "../Git.js"
import { Git, GitError } from "../Git.js"
import { fetchLimitFailure } from "../RepositoryLimits.js"
import type { TreeDiff, TreeEntry } from "./GitObjects.js"
import { BatchAnswer, parseDiff, parseTree } from "./GitObjects.js"

/** Gives up on a transfer slower than 1 kB/s for a minute. */
const SLOW_TRANSFER = ["-c", "http.lowSpeedLimit=1000", "-c", "http.lowSpeedTime=60"] as const

/** A bare repository in a throw-away directory, with `origin` and the options every command against it needs. */
export interface Workspace {
  readonly dir: string
  readonly options: ReadonlyArray<string>
}

export const gitFailure = (error: GitError | GitLimitExceeded) => {
  if (error._tag === "GitLimitExceeded") return fetchLimitFailure(error)
  const stderr = error.stderr.toLowerCase()
  const permanent = stderr.includes("repository not found") || stderr.includes("authentication failed") ||
    stderr.includes("could not read username") || stderr.includes("not found") && stderr.includes("404")
  return permanent
    ? new PermanentJobError({ message: error.message })
    : new RetryableJobError({ message: error.message })
}

/**
 * The git plumbing of an index job: a workspace pinned to the remote's checked address, shallow fetches of
 * exactly the commits needed, the tree, the diff and the blobs.
 */
export class GitRemote extends Effect.Service<GitRemote>()("services/indexer/GitRemote", {
  effect: Effect.gen(function*() {
    const git = yield* Git
    const config = yield* AppConfig

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

    /** An empty bare repository with `origin`; removed when the scope closes. */
    const open = (gitUrl: string) =>
      Effect.gen(function*() {
        const options = yield* connectOptions(gitUrl)
        const dir = yield* git.workspace
        yield* git.run(dir, ["init", "--quiet", "--bare"]).pipe(Effect.mapError(gitFailure))
        yield* git.run(dir, ["remote", "add", "origin", gitUrl]).pipe(Effect.mapError(gitFailure))
        return { dir, options } satisfies Workspace
      })

    /** Makes `origin` a promisor remote, so that blobless fetches and diffs of their trees work. */
    const allowBlobless = (ws: Workspace) =>
      git.run(ws.dir, ["config", "remote.origin.promisor", "true"]).pipe(
        Effect.zipRight(git.run(ws.dir, ["config", "extensions.partialClone", "origin"])),
        Effect.mapError(gitFailure),
        Effect.asVoid
      )

    /**
     * Fetches `ref` (depth 1) from `origin` into the local ref `into`: refs make the next fetch negotiate
     * from what we have. `blobless`: commits and trees only.
     */
    const fetch = (ws: Workspace, ref: string, into: string, blobless = false) =>
      git.fetch(ws.dir, [
        ...ws.options,
        ...SLOW_TRANSFER,
        "fetch",
        "--quiet",
        "--no-tags",
        "--depth=1",
        // git makes a filter the remote's default for later fetches: anything else is fetched whole.
        blobless ? "--filter=blob:none" : "--no-filter",
        "origin",
        `${ref}:${into}`
      ]).pipe(Effect.asVoid)

    /**
     * After blobless fetches: the blobs of `entries` in one request, with their sizes. No negotiation,
     * so the server sends whole objects: deltas against the base's blobs, which we do not have, would
     * make git fetch each base on its own.
     */
    const fetchBlobs = (ws: Workspace, entries: ReadonlyArray<TreeEntry>) => {
      if (entries.length === 0) {
        return Effect.succeed<Array<TreeEntry>>([]) as Effect.Effect<Array<TreeEntry>, GitError | GitLimitExceeded>
      }
      const shas = entries.map((e) => e.blobSha).join("\n") + "\n"
      return git.fetch(ws.dir, [
        ...ws.options,
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
        Effect.zipRight(git.run(ws.dir, [...ws.options, "cat-file", "--batch-check"], { stdin: shas })),
        Effect.map((out) => {
          const lines = out.toString("latin1").split("\n")
          return entries.map((entry, i) => ({ ...entry, size: Number(lines[i]!.split(" ")[2]) }))
        })
      )
    }

    /**
     * Reads blob contents in chunks of at most `bounds.files` blobs and `bounds.bytes` bytes (a larger blob is
     * a chunk of its own), handing each chunk to `use` before the next is read, so at most one chunk of raw
     * blobs is held at a time. One `git cat-file --batch` answers every chunk.
     */
    const readBlobs = <E, R>(
      ws: Workspace,
      entries: ReadonlyArray<TreeEntry>,
      bounds: { readonly files: number; readonly bytes: number },
      use: (chunk: ReadonlyArray<TreeEntry>, contents: ReadonlyArray<Buffer>) => Effect.Effect<void, E, R>
    ) =>
      // Its own scope for the git process: `use` may fork into the caller's.
      Effect.acquireUseRelease(Scope.make(), (scope) =>
        Effect.gen(function*() {
          if (entries.length === 0) return
          const args = [...ws.options, "cat-file", "--batch"]
          const batch = yield* Scope.extend(git.session(ws.dir, args), scope)
          let start = 0
          while (start < entries.length) {
            let end = start
            let bytes = 0
            while (
              end < entries.length && end - start < bounds.files &&
              (end === start || bytes + entries[end]!.size <= bounds.bytes)
            ) {
              bytes += entries[end]!.size
              end++
            }
            const chunk = entries.slice(start, end)
            const answer = new BatchAnswer(chunk.length)
            yield* batch.request(chunk.map((e) => e.blobSha).join("\n") + "\n", (piece) => answer.push(piece)).pipe(
              Effect.mapError(gitFailure)
            )
            if (answer.missing !== undefined) {
              return yield* gitFailure(
                new GitError({ message: `git has no object ${answer.missing}`, args, stderr: "" })
              )
            }
            yield* use(chunk, answer.blobs)
            start = end
          }
        }), (scope, exit) => Scope.close(scope, exit))

    const resolveCommit = (ws: Workspace, ref: string) =>
      git.run(ws.dir, ["rev-parse", `${ref}^{commit}`]).pipe(
        Effect.mapError(gitFailure),
        Effect.map((out) => out.toString("utf8").trim())
      )

    /** The commit's regular files; sizes only when the blobs are here (`withSizes`). */
    const listTree = (ws: Workspace, commit: string, withSizes: boolean) =>
      git.run(ws.dir, ["ls-tree", "-r", "-z", ...(withSizes ? ["-l"] : []), commit]).pipe(
        Effect.mapError(gitFailure),
        Effect.map(parseTree)
      )

    // No rename detection: it would read the base's blobs, and a rename is a delete plus a write here.
    const diff = (
      ws: Workspace,
      base: string,
      commit: string
    ): Effect.Effect<TreeDiff, PermanentJobError | RetryableJobError> =>
      git.run(ws.dir, ["diff", "--name-status", "-z", "--no-renames", base, commit]).pipe(
        Effect.mapError(gitFailure),
        Effect.map(parseDiff)
      )

    return { open, allowBlobless, fetch, fetchBlobs, readBlobs, resolveCommit, listTree, diff } as const
  })
}) {}
