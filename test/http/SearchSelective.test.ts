import { expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { JobHandlersLive } from "../../src/layers/Worker.js"
import { CHUNK_CHARS } from "../../src/services/stores/Chunking.js"
import { runWorker } from "../../src/worker/Worker.js"
import { gitServer } from "../utils/GitServer.js"
import { createKey } from "../utils/keys.js"
import { finished, register } from "../utils/repositoryFlow.js"
import { allPages, search } from "../utils/searchPages.js"
import { testApp } from "../utils/TestApp.js"

const app = Layer.scopedDiscard(runWorker).pipe(
  Layer.provide(JobHandlersLive),
  Layer.provideMerge(testApp({ GIT_ALLOW_PRIVATE_HOSTS: "true", WORKER_POLL_INTERVAL: "100 millis" }))
)

const withCount = (file: { path: string; match_count: number }) => `${file.path}#${file.match_count}`

// A selective pattern reads the content of about a page's worth of its candidates first and of more only when
// the page needs them: files whose matches span several chunks, and more of them than one page holds, must
// give exactly the lines an rg-like scan finds (5 per file at most), across pages of every size.
it.scopedLive(
  "a selective pattern's pages read candidates in batches and give the same lines, counts and cursors",
  () =>
    Effect.flatMap(gitServer(), (server) =>
      Effect.gen(function*() {
        const alice = (yield* createKey({ rate_limit: 100_000 })).api_key
        const files: Record<string, string> = {}
        for (let i = 0; i < 40; i++) {
          const path = `p${String(i % 3)}/f${String(i).padStart(3, "0")}.txt`
          const every = i % 5 === 4 ? 0 : [7, 45, 160, 1000][i % 4]!
          const lines = Array.from({ length: 300 }, (_, n) =>
            every > 0 && n % every === 3
              ? `  call SeldomIdentifierHere(${n})`
              : `filler ${i} ${n} ${"-".repeat(40)}`)
          files[path] = lines.join("\n") + "\n"
        }
        expect(files["p0/f000.txt"]!.length).toBeGreaterThan(4 * CHUNK_CHARS)
        const expectedLines: Array<string> = []
        const expectedFiles: Array<string> = []
        for (const path of Object.keys(files).sort()) {
          const hits = files[path]!.split("\n").flatMap((text, n) =>
            text.toLowerCase().includes("seldomidentifierhere") ? [n + 1] : []
          )
          if (hits.length === 0) continue
          expectedFiles.push(`${path}#${hits.length}`)
          for (const line of hits.slice(0, 5)) expectedLines.push(`${path}:${line}`)
        }
        const repo = yield* Effect.promise(() => server.createRepository("acme/selective"))
        yield* Effect.promise(() => repo.commit(files))
        const registered = yield* register(alice, repo.url)
        expect((yield* finished(registered.job_id)).status).toBe("completed")

        for (const limit of [1, 3, 7, 20, 100]) {
          expect(yield* allPages(alice, "seldomidentifierhere", limit), `limit ${limit}`).toEqual(expectedLines)
        }
        for (const limit of [2, 5, 100]) {
          expect(yield* allPages(alice, "SeldomIdentifierHere type:file", limit, withCount), `limit ${limit}`).toEqual(
            expectedFiles
          )
        }
        const first = yield* search(alice, { q: "seldomIdentifierHere" })
        expect(first.matches.map((m) => `${m.path}:${m.line}`)).toEqual(expectedLines.slice(0, 20))
      }).pipe(Effect.provide(app))),
  { timeout: 180_000 }
)
