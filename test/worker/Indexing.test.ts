import { SqlClient } from "@effect/sql"
import { afterAll, expect, it } from "@effect/vitest"
import { Effect, Layer, Schedule } from "effect"
import { randomBytes } from "node:crypto"
import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { JobHandlersLive } from "../../src/layers/Worker.js"
import { runWorker } from "../../src/worker/Worker.js"
import type { GitServer, TestRepository } from "../utils/GitServer.js"
import { gitServer } from "../utils/GitServer.js"
import { createKey, get, withKey } from "../utils/keys.js"
import { finished, job, post, push, register } from "../utils/repositoryFlow.js"
import { testApp } from "../utils/TestApp.js"

// Workspaces of this file's workers only: other test files fetch at the same time.
const workspaceDir = mkdtempSync(join(tmpdir(), "kotadb-indexing-test-"))
afterAll(() => rmSync(workspaceDir, { recursive: true, force: true }))

const app = Layer.scopedDiscard(runWorker).pipe(
  Layer.provide(JobHandlersLive),
  Layer.provideMerge(testApp({
    GIT_ALLOW_PRIVATE_HOSTS: "true",
    WORKSPACE_DIR: workspaceDir,
    WORKER_POLL_INTERVAL: "100 millis",
    JOB_RETRY_BASE_DELAY: "100 millis",
    JOB_RETRY_MAX_DELAY: "300 millis"
  }))
)

const workspaces = () => readdirSync(workspaceDir).filter((name) => name.startsWith("kotadb-git-"))

const indexed = (repositoryId: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql<{ path: string; lineCount: number; language: string | null; content: string }>`
      SELECT f.path, f.line_count, f.language, coalesce((
        SELECT string_agg(c.content, '' ORDER BY c.chunk_no) FROM indexed_chunks c
        WHERE c.repository_id = f.repository_id AND c.path = f.path), '') AS content
      FROM indexed_files f WHERE f.repository_id = ${repositoryId}
      ORDER BY f.path`
  )

const FILES = {
  "README.md": "# Widgets\n\nThe widget factory.\n",
  "src/index.ts": "export const answer = 42\nexport const question = \"unknown\"\n",
  "src/util/strings.ts": "export const shout = (s: string) => s.toUpperCase()\n// 100% literal_match here\n",
  "docs/big.txt": "x".repeat(5000),
  "assets/logo.png": Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]),
  "empty.txt": ""
}

const withGit = <A, E, R>(f: (server: GitServer) => Effect.Effect<A, E, R>) =>
  Effect.flatMap(gitServer(), (server) => f(server).pipe(Effect.provide(app)))

const repoOf = (server: GitServer, name: string) => Effect.promise(() => server.createRepository(name))
const commit = (
  repo: TestRepository,
  files: Parameters<TestRepository["commit"]>[0],
  renames?: Record<string, string>
) => Effect.promise(() => repo.commit(files, renames === undefined ? {} : { renames }))

it.scopedLive(
  "an update fetches the blobs that changed, not the tree's",
  () =>
    withGit((server) =>
      Effect.gen(function*() {
        const repo = yield* repoOf(server, "acme/large")
        // 40 files of 20 kB that do not compress: about 600 kB in any pack that holds them all.
        const files = Object.fromEntries(
          Array.from({ length: 40 }, (_, i) => [`src/file${i}.txt`, randomBytes(15_000).toString("base64")])
        )
        const first = yield* commit(repo, files)
        const key = yield* createKey({ rate_limit: 1000 })
        const registered = yield* register(key.api_key, repo.url, {})
        expect((yield* finished(registered.job_id)).status).toBe("completed")

        const second = yield* commit(repo, { "src/file7.txt": "changed\n" })
        const served = server.bytesServed
        const update = yield* finished(
          yield* push(registered, first, second)
        )
        expect(update.result).toMatchObject({ mode: "incremental", base: first, files_written: 1, files_unchanged: 0 })
        // Trees and one blob: a fraction of what one copy of the files would take.
        expect(server.bytesServed - served).toBeLessThan(60_000)
        const rows = yield* indexed(registered.repository_id)
        expect(rows.find((row) => row.path === "src/file7.txt")!.content).toBe("changed\n")
        expect(rows.length).toBe(40)
      })
    ),
  { timeout: 60_000 }
)

it.scopedLive(
  "a full index stores exactly the tracked text files; pushes change exactly what changed",
  () =>
    withGit((server) =>
      Effect.gen(function*() {
        const before = workspaces()
        const repo = yield* repoOf(server, "acme/widgets")
        const first = yield* commit(repo, FILES)
        const key = yield* createKey({ rate_limit: 1000 })
        const registered = yield* register(key.api_key, repo.url, { max_file_size: 1000 })
        const full = yield* finished(registered.job_id)
        expect(full.status).toBe("completed")
        expect(full.result).toMatchObject({
          mode: "full",
          commit: first,
          files_written: 4,
          skipped_binary: 1,
          skipped_too_large: 1
        })
        expect((yield* indexed(registered.repository_id)).map(({ content: _, ...row }) => row)).toEqual([
          { path: "README.md", lineCount: 3, language: "Markdown" },
          { path: "empty.txt", lineCount: 0, language: "Text" },
          { path: "src/index.ts", lineCount: 2, language: "TypeScript" },
          { path: "src/util/strings.ts", lineCount: 2, language: "TypeScript" }
        ])

        // Modify, add, rename and delete in one push.
        const second = yield* commit(repo, {
          "src/index.ts": "export const answer = 43\n",
          "src/new.ts": "export const fresh = true\n",
          "README.md": null
        }, { "src/util/strings.ts": "src/text/strings.ts" })
        const update = yield* finished(
          yield* push(registered, first, second)
        )
        expect(update.status).toBe("completed")
        expect(update.result).toMatchObject({
          mode: "incremental",
          base: first,
          commit: second,
          files_written: 3,
          files_deleted: 2
        })
        const rows = yield* indexed(registered.repository_id)
        expect(rows.map((row) => row.path)).toEqual(["empty.txt", "src/index.ts", "src/new.ts", "src/text/strings.ts"])
        expect(rows.find((row) => row.path === "src/index.ts")!.content).toBe("export const answer = 43\n")

        const sql = yield* SqlClient.SqlClient
        const [repository] = yield* sql<{ lastIndexedCommit: string; status: string }>`
        SELECT last_indexed_commit, status FROM repository_status_view WHERE id = ${registered.repository_id}`
        expect(repository).toEqual({ lastIndexedCommit: second, status: "ready" })
        const [delivery] = yield* sql<{ status: string }>`
        SELECT status FROM webhook_deliveries WHERE repository_id = ${registered.repository_id}`
        expect(delivery!.status).toBe("processed")
        // ... and what the push added is searchable.
        const found = yield* get(`/api/v1/search/code?q=${encodeURIComponent("fresh = true")}`, withKey(key.api_key))
        expect(yield* found.json).toEqual({
          matches: [{
            repository_id: registered.repository_id,
            path: "src/new.ts",
            language: "TypeScript",
            line: 1,
            column: 14,
            snippet: "export const fresh = true",
            ranges: [[13, 25]]
          }],
          next_cursor: null
        })
        const usage = yield* sql<{ usageType: string; tokensUsed: string }>`
        SELECT usage_type, tokens_used::text FROM token_usage WHERE repository_id = ${registered.repository_id}
        ORDER BY id`
        expect(usage.map((u) => u.usageType)).toEqual([
          "files_indexed",
          "bytes_indexed",
          "files_indexed",
          "bytes_indexed"
        ])
        expect(usage[2]!.tokensUsed).toBe("3")

        // validate finds the rows that no longer match the commit's tree and rewrites only those.
        yield* sql`UPDATE indexed_files SET blob_sha = 'x' WHERE repository_id = ${registered.repository_id}
                   AND path = 'src/new.ts'`
        yield* sql`UPDATE indexed_chunks SET content = 'tampered' WHERE repository_id = ${registered.repository_id}
                   AND path = 'src/new.ts'`
        yield* sql`DELETE FROM indexed_files WHERE repository_id = ${registered.repository_id} AND path = 'empty.txt'`
        const [validation] = yield* sql<{ id: string }>`
          INSERT INTO indexing_jobs (repository_id, job_type) VALUES (${registered.repository_id}, 'validate') RETURNING id`
        const validated = yield* finished(validation!.id)
        expect(validated.result).toMatchObject({
          mode: "validate",
          validated: true,
          differences: 2,
          files_unchanged: 2
        })
        expect((yield* indexed(registered.repository_id)).map((row) => [row.path, row.content])).toEqual(
          rows.map((row) => [row.path, row.content])
        )

        // A force push replaces history: a full index with exactly the new tree.
        const forced = yield* Effect.promise(() => repo.forcePush({ "main.go": "package main\n\nfunc main() {}\n" }))
        const rebuilt = yield* finished(
          yield* push(registered, second, forced, { forced: true })
        )
        expect(rebuilt.result).toMatchObject({ mode: "full", commit: forced })
        expect((yield* indexed(registered.repository_id)).map((row) => [row.path, row.lineCount, row.language]))
          .toEqual([
            ["main.go", 3, "Go"]
          ])
        expect(workspaces()).toEqual(before)
      })
    ),
  { timeout: 120_000 }
)

it.scopedLive(
  "search finds lines in the caller's repositories only, with literal special characters",
  () =>
    withGit((server) =>
      Effect.gen(function*() {
        const alice = yield* createKey({ rate_limit: 1000 })
        const bob = yield* createKey({ rate_limit: 1000 })
        const repo = yield* repoOf(server, "acme/search")
        yield* commit(repo, FILES)
        const mine = yield* register(alice.api_key, repo.url)
        expect((yield* finished(mine.job_id)).status).toBe("completed")
        // Bob registers the same URL: his own copy, indexed separately.
        const theirs = yield* register(bob.api_key, repo.url)
        expect((yield* finished(theirs.job_id)).status).toBe("completed")

        const search = (key: string, query: string) =>
          Effect.flatMap(get(`/api/v1/search/code?${query}`, withKey(key)), (r) =>
            Effect.map(
              r.json,
              (body) => ({ status: r.status, body: body as { matches: Array<Record<string, unknown>> } })
            ))

        const answer = yield* search(alice.api_key, "q=ANSWER")
        expect(answer.status).toBe(200)
        expect(answer.body.matches).toEqual([{
          repository_id: mine.repository_id,
          path: "src/index.ts",
          language: "TypeScript",
          line: 1,
          column: 14,
          snippet: "export const answer = 42",
          ranges: [[13, 19]]
        }])
        const literal = yield* search(alice.api_key, `q=${encodeURIComponent("100% literal_")}`)
        expect(literal.body.matches).toMatchObject([{ path: "src/util/strings.ts", line: 2 }])
        expect((yield* search(alice.api_key, `q=${encodeURIComponent("1_0%")}`)).body.matches).toEqual([])

        // Bob never sees Alice's files, even naming her repository.
        const bobs = yield* search(bob.api_key, "q=answer")
        expect(bobs.body.matches.map((m) => m.repository_id)).toEqual([theirs.repository_id])
        const named = yield* search(bob.api_key, `q=answer&repository_id=${mine.repository_id}`)
        expect(named.status).toBe(404)

        expect((yield* search(alice.api_key, "q=")).status).toBe(400)
        expect((yield* search(alice.api_key, "x=1")).status).toBe(400)

        // Paging: one match per page, then the cursor.
        const page1 = yield* search(alice.api_key, "q=export&limit=1")
        expect(page1.body.matches).toHaveLength(1)
        const cursor = (page1.body as unknown as { next_cursor: string }).next_cursor
        expect(cursor).toEqual(expect.any(String))
        const page2 = yield* search(alice.api_key, `q=export&limit=10&cursor=${cursor}`)
        const all = yield* search(alice.api_key, "q=export&limit=11")
        expect([...page1.body.matches, ...page2.body.matches]).toEqual(all.body.matches)
      })
    ),
  { timeout: 120_000 }
)

it.scopedLive(
  "no workspace remains after a failed fetch or a cancelled job",
  () =>
    withGit((server) =>
      Effect.gen(function*() {
        const before = workspaces()
        const key = yield* createKey({ rate_limit: 1000 })
        // A repository the server does not have: the job fails for good, its workspace removed.
        const missing = yield* register(key.api_key, `${server.url}/acme/missing.git`)
        const failed = yield* finished(missing.job_id)
        expect(failed.status).toBe("failed")
        expect(failed.errorMessage).toContain("git fetch failed")
        expect(workspaces()).toEqual(before)

        // A server that accepts the connection and never answers: cancel the job mid-fetch.
        const stall = createServer(() => {})
        yield* Effect.acquireRelease(
          Effect.async<void>((resume) => void stall.listen(0, "127.0.0.1", () => resume(Effect.void))),
          () => Effect.sync(() => stall.close())
        )
        const port = (stall.address() as { port: number }).port
        const hung = yield* register(key.api_key, `http://127.0.0.1:${port}/acme/hung.git`)
        yield* Effect.sync(workspaces).pipe(
          Effect.filterOrFail((now) => now.length > before.length),
          Effect.retry(Schedule.spaced("20 millis")),
          Effect.timeout("30 seconds")
        )
        const cancelled = yield* post(`/api/v1/jobs/${hung.job_id}/cancel`, withKey(key.api_key), {})
        expect(cancelled.status).toBe(200)
        yield* Effect.sync(workspaces).pipe(
          Effect.filterOrFail((now) => now.length === before.length),
          Effect.retry(Schedule.spaced("20 millis")),
          Effect.timeout("30 seconds")
        )
        expect((yield* job(hung.job_id)).status).toBe("cancelled")
      })
    ),
  { timeout: 120_000 }
)
