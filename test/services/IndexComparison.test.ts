import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { ServicesLive } from "../../src/layers/Services.js"
import { SqlLive } from "../../src/layers/Sql.js"
import { COMPARE_BATCH, IndexedFileStore, IndexedStatus } from "../../src/services/stores/IndexedFileStore.js"
import { insertRepository, insertUser } from "../utils/fixtures.js"
import { testConfig } from "../utils/TestApp.js"
import { TestDatabaseLive } from "../utils/TestDatabase.js"

const Live = ServicesLive.pipe(
  Layer.provideMerge(SqlLive),
  Layer.provideMerge(testConfig()),
  Layer.provideMerge(TestDatabaseLive)
)

// More than one batch of the comparison and one page of the indexed paths.
const FILES = COMPARE_BATCH + 500
const path = (i: number) => `src/f${i}.ts`
const sha = (i: number, blob = "a") => `${blob}${String(i).padStart(39, "0")}`

// The plan of an index job compares the commit's tree with the index in the database (Indexer, IndexPlan):
// what comes back is a status per compared path and the paths gone, not a row per indexed file.
layer(Live, { timeout: "60 seconds", excludeTestServices: true })("IndexedFileStore.compare", (it) => {
  it.effect("a status for each compared path, and the indexed paths a full index no longer has", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const store = yield* IndexedFileStore
      const repositoryId = yield* insertRepository(yield* insertUser(), "compare")
      // Another repository holding the same paths under other blobs: never part of the answer.
      const other = yield* insertRepository(yield* insertUser(), "other")
      for (const [id, blob] of [[repositoryId, "a"], [other, "b"]] as const) {
        yield* sql`
          INSERT INTO indexed_files (repository_id, path, blob_sha, language, size_bytes, line_count, extractor_version)
          SELECT ${id}, 'src/f' || i || '.ts', ${blob} || lpad(i::text, 39, '0'), 'TypeScript', 10, 1,
            CASE WHEN i = 7 THEN 1 ELSE 2 END
          FROM generate_series(0, ${FILES - 1}) AS i`
      }

      // The commit: file 3 has another blob, file 5,010 (in the second batch) too, file 7 the same blob from an older extractor, files 10 and 11
      // (and 5,400, past the first page of indexed paths) are gone, src/new.ts is new; everything else is unchanged.
      const kept = Array.from({ length: FILES }, (_, i) => i).filter((i) => i !== 10 && i !== 11 && i !== 5400)
      const paths = [...kept.map(path), "src/new.ts"]
      const shas = [...kept.map((i) => sha(i, i === 3 || i === 5010 ? "c" : "a")), sha(0, "d")]
      const inCommit = new Set(paths)
      const full = yield* store.compare(repositoryId, { paths, shas }, 2, (p) => inCommit.has(p))
      const changed = [...full.status.entries()].filter(([, s]) => s !== IndexedStatus.unchanged)
        .map(([i, s]) => [paths[i], s])
      expect(changed).toEqual([
        [path(3), IndexedStatus.otherBlob],
        [path(7), IndexedStatus.olderExtractor],
        [path(5010), IndexedStatus.otherBlob],
        ["src/new.ts", IndexedStatus.absent]
      ])
      expect([...full.gone].sort()).toEqual([path(10), path(11), path(5400)].sort())

      // An update compares the paths its diff touched; a deleted path goes under no blob, to learn whether it
      // is indexed. Without `gone`, nothing else of the index is read.
      const update = yield* store.compare(
        repositoryId,
        { paths: [path(3), path(10), "src/never.ts"], shas: [sha(3, "a"), "", ""] },
        2,
        null
      )
      expect([...update.status]).toEqual([IndexedStatus.unchanged, IndexedStatus.otherBlob, IndexedStatus.absent])
      expect(update.gone).toEqual([])

      expect(yield* store.staleExtraction(repositoryId, 2)).toBe(true)
      expect(yield* store.staleExtraction(repositoryId, 1)).toBe(false)
      const empty = yield* store.compare(
        yield* insertRepository(yield* insertUser(), "empty"),
        { paths: [], shas: [] },
        2,
        () => false
      )
      expect([...empty.status]).toEqual([])
      expect(empty.gone).toEqual([])
    }))
})
