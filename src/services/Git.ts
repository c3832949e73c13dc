import { Data, Effect } from "effect"
import { execFile, spawn } from "node:child_process"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"

export class GitError extends Data.TaggedError("GitError")<{
  readonly message: string
  readonly args: ReadonlyArray<string>
  readonly stderr: string
}> {}

export class GitUnavailable extends Data.TaggedError("GitUnavailable")<{ readonly message: string }> {}

const MAX_STDERR = 8 * 1024

/**
 * The `git` CLI, run without a shell, with no system or user configuration and no prompts, in
 * throw-away workspaces. An interrupted command is killed; a workspace is removed when its scope
 * closes, whether the job succeeded, failed or was interrupted.
 */
export class Git extends Effect.Service<Git>()("services/Git", {
  effect: Effect.gen(function*() {
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

    /** A fresh empty directory for one job, removed when the scope closes. */
    const workspace = Effect.acquireRelease(
      Effect.promise(() => mkdtemp(join(tmpdir(), "kotadb-git-"))),
      (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
    )

    /** Runs `git <args>` in `cwd` and returns its stdout; a non-zero exit is a `GitError`. */
    const run = (cwd: string, args: ReadonlyArray<string>, options: { readonly stdin?: string } = {}) =>
      Effect.async<Buffer, GitError>((resume) => {
        const child = spawn("git", args, {
          cwd,
          env: {
            PATH: process.env.PATH,
            HOME: cwd,
            GIT_CONFIG_NOSYSTEM: "1",
            GIT_TERMINAL_PROMPT: "0",
            GIT_ASKPASS: "/bin/false",
            LC_ALL: "C"
          },
          stdio: ["pipe", "pipe", "pipe"]
        })
        const out: Array<Buffer> = []
        let err = ""
        child.stdout.on("data", (chunk: Buffer) => out.push(chunk))
        child.stderr.on("data", (chunk: Buffer) => {
          if (err.length < MAX_STDERR) err += chunk.toString("utf8")
        })
        child.on(
          "error",
          (error) =>
            resume(Effect.fail(new GitError({ message: `git could not start: ${error.message}`, args, stderr: "" })))
        )
        child.on("close", (code, signal) => {
          if (code === 0) return resume(Effect.succeed(Buffer.concat(out)))
          resume(Effect.fail(
            new GitError({
              message: `git ${args[0] === "-c" ? args.find((a) => !a.includes("=") && a !== "-c") : args[0]} failed (${
                signal ?? `exit ${code}`
              }): ${err.trim().split("\n").slice(-3).join(" ")}`,
              args,
              stderr: err
            })
          ))
        })
        child.stdin.on("error", () => {}) // git may exit before reading all of stdin; its exit code tells.
        child.stdin.end(options.stdin ?? "")
        return Effect.sync(() => {
          child.kill("SIGKILL")
        })
      })

    return { version, workspace, run } as const
  })
}) {}
