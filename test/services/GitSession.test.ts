import { afterAll, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Layer } from "effect"
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { AppConfig } from "../../src/services/AppConfig.js"
import { Git } from "../../src/services/Git.js"
import { BatchAnswer } from "../../src/services/indexer/GitObjects.js"

const workspaces = mkdtempSync(join(tmpdir(), "kotadb-git-session-"))
const GitLive = Git.Default.pipe(
  Layer.provide(AppConfig.Default),
  Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["WORKSPACE_DIR", workspaces]]))))
)

/** A bare repository holding the blobs of `texts`; their ids in order. */
const repository = (texts: ReadonlyArray<string>) => {
  const dir = mkdtempSync(join(workspaces, "repo-"))
  execFileSync("git", ["init", "--quiet", "--bare", dir])
  const ids = texts.map((text) =>
    execFileSync("git", ["hash-object", "-w", "--stdin"], { cwd: dir, input: text }).toString().trim()
  )
  return { dir, ids }
}

describe("Git.session", () => {
  afterAll(() => rmSync(workspaces, { recursive: true, force: true }))

  it.scoped("answers one request after another from one git process, then stops it with the scope", () =>
    Effect.gen(function*() {
      const git = yield* Git
      const { dir, ids } = repository(["one\n", "two", "x".repeat(200_000)])
      const batch = yield* git.session(dir, ["cat-file", "--batch"])
      for (
        const [request, expected] of [[[0, 1], ["one\n", "two"]], [[2, 0], ["x".repeat(200_000), "one\n"]]] as const
      ) {
        const answer = new BatchAnswer(request.length)
        yield* batch.request(request.map((i) => ids[i]).join("\n") + "\n", (piece) => answer.push(piece))
        expect(answer.blobs.map((b) => b.toString())).toEqual(expected)
      }
      const missing = new BatchAnswer(1)
      yield* batch.request(`${"0".repeat(40)}\n`, (piece) => missing.push(piece))
      expect(missing.missing).toBe("0".repeat(40))
    }).pipe(Effect.provide(GitLive)))

  it.scoped("a git that exits before answering is a GitError, and so is every request after it", () =>
    Effect.gen(function*() {
      const git = yield* Git
      const notARepository = mkdtempSync(join(workspaces, "empty-"))
      const batch = yield* git.session(notARepository, ["cat-file", "--batch"])
      const first = yield* Effect.either(batch.request(`${"0".repeat(40)}\n`, () => false))
      expect(Either.isLeft(first) && first.left._tag === "GitError" && first.left.message).toMatch(/exit 128/)
      const second = yield* Effect.either(batch.request(`${"0".repeat(40)}\n`, () => false))
      expect(Either.isLeft(second)).toBe(true)
    }).pipe(Effect.provide(GitLive)))
})
