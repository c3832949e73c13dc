import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { createHash, randomBytes } from "node:crypto"
import { existsSync } from "node:fs"
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { gitServer, runGit, startGitServer } from "../utils/GitServer.js"

/** A client directory (also the client's HOME) for the enclosing scope. */
const clientDir = Effect.acquireRelease(
  Effect.promise(() => mkdtemp(join(tmpdir(), "git-client-"))),
  (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
)

const client = (dir: string) => (...args: Array<string>) =>
  Effect.promise(() => runGit(args, { cwd: dir, home: dir }).then((out) => out.trim()))

// Every byte value, NUL and CR/LF pairs included, plus noise: nothing may be converted on the way.
const BINARY = Buffer.concat([
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  Buffer.from("\r\n\n\r"),
  randomBytes(4096)
])

const FILES = {
  "README.md": "# widgets\n",
  "src/index.ts": "export const answer = 42\n".repeat(20),
  "src/lib/util.ts": "export const id = <A>(a: A) => a\n",
  "assets/logo.bin": BINARY
}

describe("GitServer", () => {
  it.scopedLive("serves clones, fetches by sha, renames and force pushes over smart HTTP", () =>
    Effect.gen(function*() {
      const server = yield* gitServer()
      const repo = yield* Effect.promise(() => server.createRepository("acme/widgets"))
      expect(repo.url).toBe(`${server.url}/acme/widgets.git`)
      const first = yield* Effect.promise(() => repo.commit(FILES))

      // A shallow clone with the system git gets the files byte for byte.
      const cloneDir = yield* clientDir
      yield* client(cloneDir)("clone", "-q", "--depth", "1", repo.url, "checkout")
      const checkout = join(cloneDir, "checkout")
      for (const [path, content] of Object.entries(FILES)) {
        const actual = yield* Effect.promise(() => readFile(join(checkout, path)))
        expect(actual.equals(Buffer.from(content))).toBe(true)
      }
      expect(yield* client(checkout)("rev-parse", "HEAD")).toBe(first)
      expect(yield* client(checkout)("rev-parse", "--abbrev-ref", "HEAD")).toBe("main")
      expect(server.requests).toBeGreaterThan(0)

      const tree = yield* Effect.promise(() => repo.tree(first))
      expect(tree.map((entry) => entry.path).sort()).toEqual(Object.keys(FILES).sort())
      expect(tree.find((entry) => entry.path === "assets/logo.bin")?.size).toBe(BINARY.length)
      const blob = tree.find((entry) => entry.path === "src/lib/util.ts")?.blobSha
      expect(blob).toBe(yield* client(checkout)("rev-parse", "HEAD:src/lib/util.ts"))

      // A rename (git mv), a delete and an edit.
      const second = yield* Effect.promise(() =>
        repo.commit({ "README.md": null, "src/lib/util.ts": "export const id = <B>(b: B) => b\n" }, {
          message: "rename and delete",
          renames: { "src/index.ts": "src/main/index.ts" }
        })
      )
      expect(yield* Effect.promise(() => repo.head())).toBe(second)

      // Fetching the older commit by sha, depth 1, then the newer one: the diff sees the rename.
      const fetchDir = yield* clientDir
      const fetcher = client(fetchDir)
      yield* fetcher("init", "-q")
      yield* fetcher("fetch", "-q", "--depth", "1", repo.url, first)
      expect(yield* fetcher("rev-parse", "FETCH_HEAD")).toBe(first)
      yield* fetcher("fetch", "-q", "--depth", "1", repo.url, second)
      expect(yield* fetcher("diff", "--name-status", "-M", first, second)).toBe(
        ["D\tREADME.md", "M\tsrc/lib/util.ts", "R100\tsrc/index.ts\tsrc/main/index.ts"].join("\n")
      )
      // The served blob is the very bytes: git's own object id of them.
      const blobId = createHash("sha1").update(`blob ${BINARY.length}\0`).update(BINARY).digest("hex")
      const binaryEntry = (yield* Effect.promise(() => repo.tree(second))).find((e) => e.path === "assets/logo.bin")
      expect(binaryEntry?.blobSha).toBe(blobId)
      expect(yield* fetcher("rev-parse", `${second}:assets/logo.bin`)).toBe(blobId)

      // Tags and a second branch.
      yield* Effect.promise(() => repo.tag("v1", first))
      const feature = yield* Effect.promise(() =>
        repo.commit({ "feature.txt": "on a branch\n" }, { branch: "feature" })
      )
      expect(yield* Effect.promise(() => repo.head("feature"))).toBe(feature)

      // A force push replaces main with an unrelated root commit.
      const replaced = yield* Effect.promise(() => repo.forcePush({ "only.txt": "fresh start\n" }))
      expect(yield* Effect.promise(() => repo.head())).toBe(replaced)
      const refs = yield* fetcher("ls-remote", repo.url)
      expect(refs.split("\n").sort()).toEqual(
        [
          `${replaced}\tHEAD`,
          `${feature}\trefs/heads/feature`,
          `${replaced}\trefs/heads/main`,
          `${first}\trefs/tags/v1`
        ].sort()
      )
      expect(yield* Effect.promise(() => repo.tree())).toEqual([
        { path: "only.txt", blobSha: expect.stringMatching(/^[0-9a-f]{40}$/), size: 12 }
      ])
      yield* fetcher("fetch", "-q", repo.url, "refs/heads/main:refs/remotes/origin/main")
      expect(yield* fetcher("rev-list", "refs/remotes/origin/main")).toBe(replaced)
      // The old head is unreachable from any ref now, yet still fetchable by sha (allowAnySHA1InWant).
      const stranger = yield* clientDir
      yield* client(stranger)("init", "-q")
      yield* client(stranger)("fetch", "-q", "--depth", "1", repo.url, second)
      expect(yield* client(stranger)("rev-parse", "FETCH_HEAD")).toBe(second)
    }))

  it.scopedLive("fetches many refs at once (gzip request bodies, protocol v2) and a partial clone", () =>
    Effect.gen(function*() {
      const server = yield* gitServer()
      const repo = yield* Effect.promise(() => server.createRepository("many", { defaultBranch: "trunk" }))
      for (let i = 0; i < 24; i++) {
        const sha = yield* Effect.promise(() => repo.commit({ [`file-${i}.txt`]: `${i}\n` }))
        yield* Effect.promise(() => repo.tag(`t${i}`, sha))
      }
      const dir = yield* clientDir
      const git = client(dir)
      yield* git("init", "-q")
      // 24 wants: the upload-pack request body passes 1 KiB, which git sends gzipped.
      yield* git("-c", "protocol.version=2", "fetch", "-q", "--depth", "1", repo.url, "refs/tags/*:refs/tags/*")
      expect((yield* git("tag")).split("\n")).toHaveLength(24)
      yield* git("clone", "-q", "--filter=blob:none", "--no-checkout", repo.url, "partial")
      expect(yield* client(join(dir, "partial"))("rev-parse", "--abbrev-ref", "HEAD")).toBe("trunk")
      expect(yield* client(join(dir, "partial"))("rev-parse", "HEAD")).toBe(yield* Effect.promise(() => repo.head()))
    }))

  it("leaves nothing behind after close, and close is idempotent", async () => {
    const server = await startGitServer()
    const repo = await server.createRepository("gone")
    await repo.commit({ "a.txt": "a" })
    expect(existsSync(server.directory)).toBe(true)
    const advertisement = await fetch(`${repo.url}/info/refs?service=git-upload-pack`)
    expect(advertisement.status).toBe(200)
    expect(advertisement.headers.get("content-type")).toBe("application/x-git-upload-pack-advertisement")
    expect(await advertisement.text()).toContain("# service=git-upload-pack")
    expect((await fetch(`${server.url}/missing.git/info/refs?service=git-upload-pack`)).status).toBe(404)
    expect(server.requests).toBe(2)
    await Promise.all([server.close(), server.close()])
    expect(existsSync(server.directory)).toBe(false)
    await expect(fetch(`${repo.url}/info/refs?service=git-upload-pack`)).rejects.toThrow()
  })
})
