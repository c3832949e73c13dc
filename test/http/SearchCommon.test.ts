import { expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { JobHandlersLive } from "../../src/layers/Worker.js"
import { SELECTIVE_CHUNKS } from "../../src/services/stores/SearchStore.js"
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

// More chunks hold `commonplaceword` than a search reads through the trigram index at once, so those searches
// take the ordered probe and then the index in batches; `rareidentifier` stays under that number and never
// probes. All must give exactly the files and lines that hold them, in path order, across pages.
it.scopedLive(
  "a pattern too common for the index-first read gives the same files, order and pages as a selective one",
  () =>
    Effect.flatMap(gitServer(), (server) =>
      Effect.gen(function*() {
        const alice = (yield* createKey({ rate_limit: 100_000 })).api_key
        const files: Record<string, string> = {}
        const common: Array<string> = []
        const rare: Array<string> = []
        for (let i = 0; i < SELECTIVE_CHUNKS + 150; i++) {
          const path = `d${String(i % 7)}/f${String(i).padStart(5, "0")}.txt`
          if (i % 10 === 3) {
            files[path] = `nothing here ${i}\n`
            continue
          }
          files[path] = i % 97 === 0
            ? `line one\nthe commonplaceword and a rareidentifier\n`
            : `line one\nthe commonplaceword ${i}\n`
          common.push(path)
          if (i % 97 === 0) rare.push(path)
        }
        common.sort()
        rare.sort()
        const repo = yield* Effect.promise(() => server.createRepository("acme/common"))
        yield* Effect.promise(() => repo.commit(files))
        const registered = yield* register(alice, repo.url)
        expect((yield* finished(registered.job_id)).status).toBe("completed")

        // Long literals are read through the index first (the common one then turns to the probe); short ones
        // start with the probe. Every way gives the same pages.
        for (const word of ["commonplaceword", "common"]) {
          expect(yield* allPages(alice, `${word} type:file`, 100)).toEqual(common)
          expect(yield* allPages(alice, word, 97)).toEqual(common.map((p) => `${p}:2`))
          const first = yield* search(alice, { q: word })
          expect(first.matches.map((m) => m.path)).toEqual(common.slice(0, 20))
        }
        for (const word of ["rareidentifier", "rare"]) {
          expect(yield* allPages(alice, `${word} type:file`, 100)).toEqual(rare)
          expect(yield* allPages(alice, word, 2)).toEqual(rare.map((p) => `${p}:2`))
        }
      }).pipe(Effect.provide(app))),
  { timeout: 180_000 }
)
