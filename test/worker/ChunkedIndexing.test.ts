import { SqlClient } from "@effect/sql"
import { expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { randomBytes } from "node:crypto"
import { JobHandlersLive } from "../../src/layers/Worker.js"
import { CHUNK } from "../../src/services/indexer/FileStream.js"
import { runWorker } from "../../src/worker/Worker.js"
import { gitServer } from "../utils/GitServer.js"
import { createKey } from "../utils/keys.js"
import { finished, push, register } from "../utils/repositoryFlow.js"
import { testApp } from "../utils/TestApp.js"

const app = Layer.scopedDiscard(runWorker).pipe(
  Layer.provide(JobHandlersLive),
  Layer.provideMerge(testApp({ GIT_ALLOW_PRIVATE_HOSTS: "true", WORKER_POLL_INTERVAL: "100 millis" }))
)

// More files than a chunk holds, each importing one that sorts at the other end of the tree (another
// chunk) through a tsconfig alias, and text that takes more than one chunk's bytes.
const MODULES = CHUNK.files + 50
const name = (i: number) => `mod${String(i).padStart(4, "0")}`
const modules = Object.fromEntries(
  Array.from({ length: MODULES }, (_, i) => [
    `src/${name(i)}.ts`,
    `import { ${name(MODULES - 1 - i)} } from "@lib/${name(MODULES - 1 - i)}"\n\n`
    + `export function ${name(i)}(): number {\n  return ${i}\n}\n`
  ])
)
const BIG = Math.ceil(CHUNK.bytes / (900 * 1024)) + 1
const big = Object.fromEntries(
  Array.from({ length: BIG }, (_, i) => [`data/blob${i}.txt`, randomBytes(675 * 1024).toString("base64")])
)
const tsconfig = (target: string) =>
  JSON.stringify({ compilerOptions: { baseUrl: ".", paths: { "@lib/*": [target] } } })

it.scopedLive(
  "a commit larger than a chunk is indexed whole: text, symbols, imports across chunks; a file turned binary is deleted",
  () =>
    Effect.gen(function*() {
      const server = yield* gitServer()
      const repo = yield* Effect.promise(() => server.createRepository("acme/chunked"))
      const first = yield* Effect.promise(() => repo.commit({ ...modules, ...big, "tsconfig.json": tsconfig("src/*") }))
      const key = yield* createKey({ rate_limit: 1000 })
      const registered = yield* register(key.api_key, repo.url)
      const full = yield* finished(registered.job_id)
      const files = MODULES + BIG + 1
      expect(full.status).toBe("completed")
      expect(full.result).toMatchObject({ mode: "full", files_written: files, files_deleted: 0, skipped_binary: 0 })
      expect(full.result!.extraction).toMatchObject({ files: MODULES, failed: 0 })
      expect(full.result!.symbols_extracted).toBe(MODULES)

      const sql = yield* SqlClient.SqlClient
      const id = registered.repository_id
      const [stored] = yield* sql<{ files: number; bytes: number; symbols: number; resolved: number }>`
        SELECT (SELECT count(*)::int FROM indexed_files WHERE repository_id = ${id}) AS files,
          (SELECT sum(length(content))::int FROM indexed_chunks WHERE repository_id = ${id}) AS bytes,
          (SELECT count(*)::int FROM code_symbols WHERE repository_id = ${id}) AS symbols,
          (SELECT count(*)::int FROM code_imports WHERE repository_id = ${id}
            AND resolved_path = 'src/' || substr(module, 6) || '.ts') AS resolved`
      const expectedBytes = [...Object.values(modules), ...Object.values(big), tsconfig("src/*")]
        .reduce((sum, text) => sum + text.length, 0)
      expect(stored).toEqual({ files, bytes: expectedBytes, symbols: MODULES, resolved: MODULES })
      expect(full.result!.bytes_written).toBe(expectedBytes)

      // Searches read a trigram index's pending list whole: the job leaves none behind in either index.
      yield* sql`CREATE EXTENSION IF NOT EXISTS pgstattuple`
      const pending = yield* sql<{ index: string; tuples: number }>`
        SELECT i AS index, (pgstatginindex(i::regclass)).pending_tuples::int AS tuples
        FROM unnest(ARRAY['indexed_chunks_search_idx', 'code_symbols_name_trgm_idx']) AS i ORDER BY i`
      expect(pending).toEqual([
        { index: "code_symbols_name_trgm_idx", tuples: 0 },
        { index: "indexed_chunks_search_idx", tuples: 0 }
      ])

      // One module turns binary (deleted with its symbols and imports); the alias now points nowhere, so
      // every unchanged file's import resolves again, against the new tsconfig read before the stream.
      const binary = `src/${name(10)}.ts`
      const second = yield* Effect.promise(() =>
        repo.commit({ [binary]: Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3]), "tsconfig.json": tsconfig("x/*") })
      )
      const update = yield* finished(yield* push(registered, first, second))
      expect(update.status).toBe("completed")
      expect(update.result).toMatchObject({
        mode: "incremental",
        files_written: 1,
        files_deleted: 1,
        skipped_binary: 1,
        skipped: [{ path: binary, reason: "binary" }]
      })
      const [after] = yield* sql<{ files: number; gone: number; resolved: number }>`
        SELECT (SELECT count(*)::int FROM indexed_files WHERE repository_id = ${id}) AS files,
          (SELECT count(*)::int FROM code_symbols WHERE repository_id = ${id} AND path = ${binary})
          + (SELECT count(*)::int FROM code_imports WHERE repository_id = ${id} AND path = ${binary})
          + (SELECT count(*)::int FROM indexed_chunks WHERE repository_id = ${id} AND path = ${binary}) AS gone,
          (SELECT count(*)::int FROM code_imports WHERE repository_id = ${id} AND resolved_path IS NOT NULL)
          AS resolved`
      expect(after).toEqual({ files: files - 1, gone: 0, resolved: 0 })
    }).pipe(Effect.provide(app)),
  { timeout: 120_000 }
)
