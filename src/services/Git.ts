import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type { ChildProcess } from "node:child_process"
import { execFile, spawn } from "node:child_process"
import { mkdir, mkdtemp, rm, statfs } from "node:fs/promises"
import { join } from "node:path"
import { formatBytes } from "../domain/Bytes.js"
import { AppConfig } from "./AppConfig.js"
import { directorySize } from "./DirectorySize.js"

export class GitError extends Data.TaggedError("GitError")<{
  readonly message: string
  readonly args: ReadonlyArray<string>
  readonly stderr: string
}> {}

export class GitUnavailable extends Data.TaggedError("GitUnavailable")<{ readonly message: string }> {}

/** A fetch stopped by a limit of ours (its git processes killed), or not started for want of disk. */
export class GitLimitExceeded extends Data.TaggedError("GitLimitExceeded")<{
  readonly code: "fetch_timeout" | "fetch_too_large" | "insufficient_disk"
  readonly message: string
}> {}

const MAX_STDERR = 8 * 1024
// How often a running fetch's workspace is measured: the most a fetch can overshoot its byte cap is
// what arrives in one interval.
const SIZE_POLL = Duration.millis(100)
// A killed process group is waited for (so nothing writes into a workspace being removed), but not forever.
const KILL_WAIT = Duration.seconds(5)

/**
 * The `git` CLI, run without a shell, with no system or user configuration and no prompts, in
 * throw-away workspaces. A command runs in a process group of its own: interrupting it kills the group
 * (git's helpers too: `git-remote-https`, `index-pack`) and waits for it to exit. A workspace is
 * removed when its scope closes, whether the job succeeded, failed or was interrupted.
 *
 * `fetch` is `run` with the limits of a transfer: it refuses to start when the workspace's filesystem
 * has less than `WORKSPACE_MIN_FREE_BYTES` free, is killed after `GIT_FETCH_TIMEOUT`, and is killed as
 * soon as the workspace's objects (all its fetches' together) pass `GIT_FETCH_MAX_BYTES`. They are
 * measured on disk rather
 * than by parsing git's progress output: the size of what landed is exact whichever process wrote it,
 * needs no `--progress` text (rounded, localised, throttled, absent for small transfers), and is the
 * resource the cap protects. `fetch.unpackLimit=1` keeps every received pack as a pack, which
 * `index-pack` writes to disk as it streams in (a small pack would otherwise go to `unpack-objects`,
 * which holds each object in memory until it is whole), so the size on disk tracks the transfer.
 */
export class Git extends Effect.Service<Git>()("services/Git", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const version = yield* Effect.async<string, GitUnavailable>((resume) => {
      execFile("git", ["--version"], (error, stdout) =>
        resume(
          error
            ? Effect.fail(
              new GitUnavailable({ message: `the git CLI is required but could not run: ${error.message}` })
            )
            : Effect.succeed(stdout.trim())
        ))
    })
    yield* Effect.logDebug("git found").pipe(Effect.annotateLogs({ version }))

    yield* Effect.promise(() => mkdir(config.workspaceDir, { recursive: true }))

    /** A fresh empty directory for one job, removed when the scope closes. */
    const workspace = Effect.acquireRelease(
      Effect.promise(() => mkdtemp(join(config.workspaceDir, "kotadb-git-"))),
      (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
    )

    const start = (cwd: string, args: ReadonlyArray<string>) =>
      spawn("git", args, {
        cwd,
        env: {
          PATH: process.env.PATH,
          HOME: cwd,
          GIT_CONFIG_NOSYSTEM: "1",
          GIT_TERMINAL_PROMPT: "0",
          GIT_ASKPASS: "/bin/false",
          LC_ALL: "C"
        },
        stdio: ["pipe", "pipe", "pipe"],
        detached: true
      })

    const failure = (args: ReadonlyArray<string>, code: number | null, signal: string | null, err: string) =>
      new GitError({
        message: `git ${args[0] === "-c" ? args.find((a) => !a.includes("=") && a !== "-c") : args[0]} failed (${
          signal ?? `exit ${code}`
        }): ${err.trim().split("\n").slice(-3).join(" ")}`,
        args,
        stderr: err
      })

    /** Kills a command's process group and waits for `close`, when every process of it has let go of the pipes. */
    const stop = (child: ChildProcess, closed: () => boolean) =>
      Effect.async<void>((done) => {
        if (closed() || child.pid === undefined) return done(Effect.void)
        child.once("close", () => done(Effect.void))
        try {
          process.kill(-child.pid, "SIGKILL")
        } catch {
          child.kill("SIGKILL")
        }
      }).pipe(Effect.timeoutOption(KILL_WAIT), Effect.asVoid)

    /** Runs `git <args>` in `cwd` and returns its stdout; a non-zero exit is a `GitError`. */
    const run = (cwd: string, args: ReadonlyArray<string>, options: { readonly stdin?: string } = {}) =>
      Effect.async<Buffer, GitError>((resume) => {
        const child = start(cwd, args)
        let closed = false
        const out: Array<Buffer> = []
        let err = ""
        child.stdout.on("data", (chunk: Buffer) => out.push(chunk))
        child.stderr.on("data", (chunk: Buffer) => {
          if (err.length < MAX_STDERR) err += chunk.toString("utf8")
        })
        child.on("error", (error) => {
          closed = true
          resume(Effect.fail(new GitError({ message: `git could not start: ${error.message}`, args, stderr: "" })))
        })
        child.on("close", (code, signal) => {
          closed = true
          if (code === 0) return resume(Effect.succeed(Buffer.concat(out)))
          resume(Effect.fail(failure(args, code, signal, err)))
        })
        child.stdin.on("error", () => {}) // git may exit before reading all of stdin; its exit code tells.
        child.stdin.end(options.stdin ?? "")
        return stop(child, () => closed)
      })

    /**
     * `git <args>` in `cwd` kept running to answer one request after another on its stdin (`cat-file --batch`):
     * starting a process costs the server a fork of itself, so many small requests share one. `request`
     * writes `input` and hands git's output to `answer` until it says the answer is whole. The process
     * group is killed when the scope closes; an exit before an answer is whole is a `GitError`.
     */
    const session = (cwd: string, args: ReadonlyArray<string>) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          const child = start(cwd, args)
          const state = { closed: false, err: "", exit: undefined as GitError | undefined }
          child.stderr.on("data", (chunk: Buffer) => {
            if (state.err.length < MAX_STDERR) state.err += chunk.toString("utf8")
          })
          child.on("error", (error) => {
            state.closed = true
            state.exit = new GitError({ message: `git could not start: ${error.message}`, args, stderr: "" })
          })
          child.on("close", (code, signal) => {
            state.closed = true
            state.exit ??= failure(args, code, signal, state.err)
          })
          child.stdin.on("error", () => {}) // an exit shows as `close`
          return { child, state }
        }),
        ({ child, state }) =>
          Effect.suspend(() => {
            child.stdin.end()
            return stop(child, () => state.closed)
          })
      ).pipe(Effect.map(({ child, state }) => ({
        request: (input: string, answer: (piece: Buffer) => boolean) =>
          Effect.async<void, GitError>((resume) => {
            if (state.exit !== undefined) return resume(Effect.fail(state.exit))
            const onData = (piece: Buffer) => {
              if (!answer(piece)) return
              detach()
              resume(Effect.void)
            }
            const onClose = () => {
              detach()
              resume(Effect.fail(state.exit!))
            }
            const detach = () => {
              child.stdout.off("data", onData)
              child.off("close", onClose)
            }
            child.stdout.on("data", onData)
            child.once("close", onClose)
            child.stdin.write(input)
            // The rest of this answer would be taken for the next one's.
            return Effect.sync(() => {
              detach()
              state.exit ??= new GitError({ message: "a request to git was interrupted", args, stderr: "" })
            })
          })
      })))

    const freeBytes = (dir: string) => Effect.promise(() => statfs(dir)).pipe(Effect.map((fs) => fs.bavail * fs.bsize))

    const tooLarge = (size: number) =>
      new GitLimitExceeded({
        code: "fetch_too_large",
        message: `the fetch passed ${formatBytes(size)}, over the transfer limit of ${
          formatBytes(config.gitFetchMaxBytes)
        }`
      })

    /** Fails once the workspace holds more than the cap; never succeeds. */
    const watchSize = (dir: string) =>
      Effect.promise(() => directorySize(join(dir, "objects"))).pipe(
        Effect.filterOrFail((size) => size <= config.gitFetchMaxBytes, tooLarge),
        Effect.repeat(Schedule.spaced(SIZE_POLL)),
        Effect.zipRight(Effect.never)
      )

    /** `run` for a `git fetch` in the workspace `dir`, within the transfer limits (see the class). */
    const fetch = (dir: string, args: ReadonlyArray<string>, options: { readonly stdin?: string } = {}) =>
      Effect.gen(function*() {
        const free = yield* freeBytes(dir)
        if (free < config.workspaceMinFreeBytes) {
          return yield* new GitLimitExceeded({
            code: "insufficient_disk",
            message: `the worker has ${formatBytes(free)} of disk free for workspaces, below its minimum of ` +
              `${formatBytes(config.workspaceMinFreeBytes)}; the fetch will be retried`
          })
        }
        const out = yield* run(dir, ["-c", "fetch.unpackLimit=1", ...args], options).pipe(
          Effect.raceFirst(watchSize(dir)),
          Effect.timeoutFail({
            duration: config.gitFetchTimeout,
            onTimeout: () =>
              new GitLimitExceeded({
                code: "fetch_timeout",
                message: `the fetch took longer than ${Duration.format(config.gitFetchTimeout)}`
              })
          })
        )
        // A transfer faster than the polling still counts whole.
        const size = yield* Effect.promise(() => directorySize(join(dir, "objects")))
        if (size > config.gitFetchMaxBytes) return yield* tooLarge(size)
        return out
      }).pipe(Effect.withSpan("Git.fetch"))

    return { version, workspace, run, session, fetch } as const
  })
}) {}
