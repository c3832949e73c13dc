import { SqlClient } from "@effect/sql"
import { afterAll, expect, layer } from "@effect/vitest"
import { Effect, Layer, Schedule } from "effect"
import { randomBytes } from "node:crypto"
import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { JobHandlersLive } from "../../src/layers/Worker.js"
import { runWorker } from "../../src/worker/Worker.js"
import type { GitServer } from "../utils/GitServer.js"
import { gitServer } from "../utils/GitServer.js"
import { createKey, get, withKey } from "../utils/keys.js"
import type { Registered } from "../utils/repositoryFlow.js"
import { finished, job, post, push, register } from "../utils/repositoryFlow.js"
import { testApp } from "../utils/TestApp.js"

// Workspaces of this file's workers only: other test files fetch at the same time.
const workspaceDir = mkdtempSync(join(tmpdir(), "kotadb-limits-test-"))
afterAll(() => rmSync(workspaceDir, { recursive: true, force: true }))
const workspaces = () => readdirSync(workspaceDir)

const workerApp = (env: Record<string, string>) =>
  Layer.scopedDiscard(runWorker).pipe(
    Layer.provide(JobHandlersLive),
    Layer.provideMerge(testApp({
      GIT_ALLOW_PRIVATE_HOSTS: "true",
      WORKER_POLL_INTERVAL: "100 millis",
      JOB_RETRY_BASE_DELAY: "100 millis",
      JOB_RETRY_MAX_DELAY: "300 millis",
      WORKSPACE_DIR: workspaceDir,
      ...env
    }))
  )

const reindex = (key: string, repo: Registered) =>
  Effect.flatMap(
    post(`/api/v1/repositories/${repo.repository_id}/reindex`, withKey(key), {}),
    (response) => response.json as Effect.Effect<{ job_id: string }>
  ).pipe(Effect.map((body) => body.job_id))

const failureEvent = (id: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ message: string; context: Record<string, unknown> }>`
      SELECT message, context FROM indexing_job_events WHERE job_id = ${id} AND event_type = 'failed'`.pipe(
      Effect.orDie
    ))

/** What a tenant sees of its index: the files and the commit they are from. */
const snapshot = (repositoryId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.all({
      files: sql<{ path: string; blobSha: string }>`
        SELECT path, blob_sha FROM indexed_files WHERE repository_id = ${repositoryId} ORDER BY path`,
      chunks: sql<{ n: number }>`
        SELECT count(*)::int AS n FROM indexed_chunks WHERE repository_id = ${repositoryId}`,
      commit: sql<{ lastIndexedCommit: string | null }>`
        SELECT last_indexed_commit FROM repositories WHERE id = ${repositoryId}`
    }).pipe(Effect.orDie))

const repositoryView = (key: string, repo: Registered) =>
  Effect.flatMap(
    get(`/api/v1/repositories/${repo.repository_id}`, withKey(key)),
    (response) =>
      response.json as Effect.Effect<{ status: string; error: { code: string; message: string; job_id: string } }>
  )

/** The job failed for good with `code`, in its row, its event and the repository's view. */
const expectRefused = (key: string, repo: Registered, jobId: string, code: string) =>
  Effect.gen(function*() {
    const state = yield* finished(jobId)
    expect(state).toMatchObject({ status: "failed", errorCode: code, attempt: 1 })
    const [event] = yield* failureEvent(jobId)
    expect(event!.context).toMatchObject({ code, permanent: true })
    const view = yield* repositoryView(key, repo)
    expect(view.status).toBe("error")
    expect(view.error).toEqual({ code, message: state.errorMessage, job_id: jobId })
    expect(workspaces()).toEqual([])
    return state
  })

const noise = (bytes: number) => randomBytes(Math.ceil(bytes * 3 / 4)).toString("base64").slice(0, bytes)

layer(
  workerApp({
    REPOSITORY_MAX_FILES: "5",
    REPOSITORY_MAX_BYTES: "20000",
    GIT_FETCH_TIMEOUT: "4 seconds",
    GIT_FETCH_MAX_BYTES: "256 kB"
  }),
  { timeout: "120 seconds", excludeTestServices: true }
)("tenant limits in the worker", (it) => {
  const withGit = <A, E, R>(f: (server: GitServer) => Effect.Effect<A, E, R>) => Effect.flatMap(gitServer(), f)

  it.scoped("over REPOSITORY_MAX_FILES an update and a full index fail for good; the index stays as it was", () =>
    withGit((server) =>
      Effect.gen(function*() {
        const key = yield* createKey({ rate_limit: 1000 })
        const repo = yield* Effect.promise(() => server.createRepository("acme/many"))
        const first = yield* Effect.promise(() => repo.commit({ "a.txt": "a\n", "b.txt": "b\n", "c.txt": "c\n" }))
        const registered = yield* register(key.api_key, repo.url)
        expect((yield* finished(registered.job_id)).status).toBe("completed")
        const before = yield* snapshot(registered.repository_id)
        expect(before.files).toHaveLength(3)

        const second = yield* Effect.promise(() => repo.commit({ "d.txt": "d\n", "e.txt": "e\n", "f.txt": "f\n" }))
        const update = yield* expectRefused(
          key.api_key,
          registered,
          yield* push(registered, first, second),
          "repository_too_large"
        )
        expect(update.errorMessage).toBe("the repository has 6 files to index, over the limit of 5 per repository")
        expect(yield* snapshot(registered.repository_id)).toEqual(before)

        yield* expectRefused(key.api_key, registered, yield* reindex(key.api_key, registered), "repository_too_large")
        expect(yield* snapshot(registered.repository_id)).toEqual(before)

        // At the limit is legal: the next push indexes.
        const third = yield* Effect.promise(() => repo.commit({ "f.txt": null }))
        expect((yield* finished(yield* push(registered, first, third))).status).toBe("completed")
        const after = yield* snapshot(registered.repository_id)
        expect(after.files.map((f) => f.path)).toEqual(["a.txt", "b.txt", "c.txt", "d.txt", "e.txt"])
        expect(yield* repositoryView(key.api_key, registered)).toMatchObject({ status: "ready", error: null })
      })
    ))

  it.scoped("over REPOSITORY_MAX_BYTES likewise; a repository of exactly the limit indexes", () =>
    withGit((server) =>
      Effect.gen(function*() {
        const key = yield* createKey({ rate_limit: 1000 })
        const repo = yield* Effect.promise(() => server.createRepository("acme/heavy"))
        const first = yield* Effect.promise(() => repo.commit({ "one.txt": noise(8_000), "two.txt": noise(8_000) }))
        const registered = yield* register(key.api_key, repo.url)
        expect((yield* finished(registered.job_id)).status).toBe("completed")
        const before = yield* snapshot(registered.repository_id)

        const second = yield* Effect.promise(() => repo.commit({ "three.txt": noise(4_001) }))
        const update = yield* expectRefused(
          key.api_key,
          registered,
          yield* push(registered, first, second),
          "repository_too_large"
        )
        expect(update.errorMessage).toBe(
          "the repository has 20,001 bytes of files to index, over the limit of 20,000 bytes per repository"
        )
        expect(yield* snapshot(registered.repository_id)).toEqual(before)

        const third = yield* Effect.promise(() => repo.commit({ "three.txt": noise(4_000) }))
        expect((yield* finished(yield* push(registered, first, third))).status).toBe("completed")
        expect((yield* snapshot(registered.repository_id)).files).toHaveLength(3)
        // A full index of the same tree agrees.
        expect((yield* finished(yield* reindex(key.api_key, registered))).status).toBe("completed")
      })
    ))

  it.scoped("a server that stalls mid-pack trips GIT_FETCH_TIMEOUT: git is killed, the workspace is gone", () =>
    withGit((server) =>
      Effect.gen(function*() {
        const key = yield* createKey({ rate_limit: 1000 })
        const repo = yield* Effect.promise(() => server.createRepository("acme/slow"))
        const first = yield* Effect.promise(() => repo.commit({ "a.txt": noise(3_000) }))
        const registered = yield* register(key.api_key, repo.url)
        expect((yield* finished(registered.job_id)).status).toBe("completed")
        const before = yield* snapshot(registered.repository_id)

        const second = yield* Effect.promise(() => repo.commit({ "b.txt": noise(3_000) }))
        server.shapePacks({ stallAfterBytes: 100 })
        const cut = server.responsesCut
        const started = Date.now()
        const state = yield* expectRefused(
          key.api_key,
          registered,
          yield* push(registered, first, second),
          "fetch_timeout"
        )
        server.shapePacks(null)
        expect(Date.now() - started).toBeGreaterThanOrEqual(4_000)
        expect(state.errorMessage).toBe("the fetch took longer than 4s")
        expect(server.responsesCut).toBeGreaterThan(cut)
        expect(yield* snapshot(registered.repository_id)).toEqual(before)
      })
    ))

  it.scoped("a fetch that streams past GIT_FETCH_MAX_BYTES is cut while it streams", () =>
    withGit((server) =>
      Effect.gen(function*() {
        const key = yield* createKey({ rate_limit: 1000 })
        const repo = yield* Effect.promise(() => server.createRepository("acme/huge"))
        // Incompressible: the pack is as large as the file, about 2.3 times the cap.
        yield* Effect.promise(() => repo.commit({ "blob.bin": randomBytes(600_000) }))
        // About 2 s to send it all: the cap is passed a third of the way.
        server.shapePacks({ bytesPerSecond: 300_000 })
        const cut = server.responsesCut
        const registered = yield* register(key.api_key, repo.url)
        const state = yield* expectRefused(key.api_key, registered, registered.job_id, "fetch_too_large")
        server.shapePacks(null)
        expect(state.errorMessage).toMatch(/^the fetch passed [\d,]+ bytes, over the transfer limit of 262,144 bytes$/)
        // The client hung up before the server had sent the pack.
        expect(server.responsesCut).toBeGreaterThan(cut)
        expect((yield* snapshot(registered.repository_id)).files).toEqual([])
      })
    ))
})

layer(workerApp({ WORKSPACE_MIN_FREE_BYTES: "1000 TB" }), { timeout: "60 seconds", excludeTestServices: true })(
  "a worker short of disk",
  (it) => {
    it.scoped("refuses to fetch with a retryable error, and the job waits for another attempt", () =>
      Effect.flatMap(gitServer(), (server) =>
        Effect.gen(function*() {
          const key = yield* createKey({ rate_limit: 1000 })
          const repo = yield* Effect.promise(() => server.createRepository("acme/any"))
          yield* Effect.promise(() => repo.commit({ "a.txt": "a\n" }))
          const requests = server.requests
          const registered = yield* register(key.api_key, repo.url)
          const retried = yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
            sql<{ context: Record<string, unknown>; message: string }>`
              SELECT context, message FROM indexing_job_events
              WHERE job_id = ${registered.job_id} AND event_type = 'retry_scheduled'`.pipe(Effect.orDie)).pipe(
              Effect.filterOrFail((rows) =>
                rows.length >= 2
              ),
              Effect.retry(Schedule.spaced("50 millis")),
              Effect.timeout("30 seconds")
            )
          expect(retried[0]!.context).toMatchObject({ code: "insufficient_disk", attempt: 1 })
          expect(retried[0]!.message).toContain("below its minimum")
          expect(["queued", "in_progress"]).toContain((yield* job(registered.job_id)).status)
          expect(server.requests).toBe(requests) // nothing was fetched
        })))
  }
)
