import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { chunksOf, fold } from "./Chunking.js"

export interface IndexedFile {
  readonly path: string
  readonly blobSha: string
  readonly language: string | null
  readonly sizeBytes: number
  readonly lineCount: number
  readonly content: string
  /** The extractor whose symbols are written with the file (0: none). */
  readonly extractorVersion: number
}

/** A path's state in the index against a commit's blob: `unchanged` is the same blob and a current extractor. */
export const IndexedStatus = { unchanged: 0, absent: 1, otherBlob: 2, olderExtractor: 3 } as const
export type IndexedStatus = typeof IndexedStatus[keyof typeof IndexedStatus]

// Paths per statement when a plan compares a tree with the index: bounded parameters and pages.
export const COMPARE_BATCH = 5000

// Rows per statement: keeps each statement's parameters (arrays, so 6 of them) and memory bounded.
const WRITE_BATCH = 500

/**
 * Owns `indexed_files`, `indexed_chunks` (a file's content, line-aligned chunks; searches read them through
 * SearchStore) and `token_usage`, which only the indexer writes.
 */
export class IndexedFileStore extends Effect.Service<IndexedFileStore>()("services/stores/IndexedFileStore", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    /** The statuses of one batch of paths (ordinals 1-based within the batch), compared in the database. */
    const compareBatch = (
      repositoryId: string,
      paths: ReadonlyArray<string>,
      shas: ReadonlyArray<string>,
      extractorVersion: number
    ) =>
      sql<{ absent: Array<number>; otherBlob: Array<number>; olderExtractor: Array<number> }>`
        WITH joined AS (
          SELECT t.ord::int AS ord, t.sha, f.blob_sha, f.extractor_version
          FROM unnest(${paths}::text[], ${shas}::text[]) WITH ORDINALITY AS t(path, sha, ord)
          LEFT JOIN indexed_files f ON f.repository_id = ${repositoryId} AND f.path = t.path
        )
        SELECT
          ARRAY(SELECT ord FROM joined WHERE blob_sha IS NULL) AS absent,
          ARRAY(SELECT ord FROM joined WHERE blob_sha <> sha) AS other_blob,
          ARRAY(SELECT ord FROM joined WHERE blob_sha = sha AND extractor_version < ${extractorVersion})
            AS older_extractor`.pipe(Effect.map((rows) => rows[0]!))

    /** One page of the repository's indexed paths after `after`, in the index's order. */
    const pathsAfter = (repositoryId: string, after: string | null) =>
      sql<{ path: string }>`
        SELECT path FROM indexed_files
        WHERE repository_id = ${repositoryId} ${after === null ? sql`` : sql`AND path > ${after}`}
        ORDER BY path LIMIT ${COMPARE_BATCH}`.pipe(Effect.map((rows) => rows.map((row) => row.path)))

    /**
     * What the index holds for each of `paths` (with the blob `shas` a commit has there), as one status a
     * path (IndexedStatus), and with `has` (the commit's paths) the indexed paths the commit no longer has.
     * Compared in the database in batches, and the indexed paths read a page at a time, so neither a row per
     * indexed file nor a statement's parameters for the whole tree are ever held at once.
     */
    const compare = (
      repositoryId: string,
      entries: { readonly paths: ReadonlyArray<string>; readonly shas: ReadonlyArray<string> },
      extractorVersion: number,
      has: ((path: string) => boolean) | null
    ) =>
      Effect.gen(function*() {
        const status = new Uint8Array(entries.paths.length)
        for (let start = 0; start < entries.paths.length; start += COMPARE_BATCH) {
          const end = start + COMPARE_BATCH
          const batch = yield* compareBatch(
            repositoryId,
            entries.paths.slice(start, end),
            entries.shas.slice(start, end),
            extractorVersion
          )
          const mark = (ords: ReadonlyArray<number>, value: IndexedStatus) => {
            for (const ord of ords) status[start + Number(ord) - 1] = value
          }
          mark(batch.absent, IndexedStatus.absent)
          mark(batch.otherBlob, IndexedStatus.otherBlob)
          mark(batch.olderExtractor, IndexedStatus.olderExtractor)
        }
        const gone: Array<string> = []
        if (has !== null) {
          let page = yield* pathsAfter(repositoryId, null)
          while (page.length > 0) {
            for (const path of page) if (!has(path)) gone.push(path)
            page = page.length < COMPARE_BATCH ? [] : yield* pathsAfter(repositoryId, page[page.length - 1]!)
          }
        }
        return { paths: entries.paths, status, gone }
      })

    /** Whether any file of the repository has symbols from an extractor older than `extractorVersion`. */
    const staleExtraction = (repositoryId: string, extractorVersion: number) =>
      sql<{ stale: boolean }>`
        SELECT EXISTS (
          SELECT 1 FROM indexed_files WHERE repository_id = ${repositoryId} AND extractor_version < ${extractorVersion}
        ) AS stale`.pipe(Effect.map((rows) => rows[0]!.stale))

    /** Whether the repository's index holds any file (when not, it holds no chunk and no symbol either). */
    const holdsAny = (repositoryId: string) =>
      sql<{ any: boolean }>`
        SELECT EXISTS (SELECT 1 FROM indexed_files WHERE repository_id = ${repositoryId}) AS any`.pipe(
        Effect.map((rows) => rows[0]!.any)
      )

    /** A file's text as indexed: its chunks in order. */
    const text = (repositoryId: string, path: string) =>
      sql<{ content: string | null }>`
        SELECT string_agg(content, '' ORDER BY chunk_no) AS content
        FROM indexed_chunks WHERE repository_id = ${repositoryId} AND path = ${path}`
        .pipe(Effect.map((rows) => Option.fromNullable(rows[0]?.content)))

    /** How many files the repository's index holds, and their bytes, leaving out `paths`. */
    const totalsExcept = (repositoryId: string, paths: ReadonlyArray<string>) =>
      sql<{ files: number; bytes: number }>`
        SELECT count(*)::int AS files, coalesce(sum(size_bytes), 0)::float8 AS bytes
        FROM indexed_files WHERE repository_id = ${repositoryId} AND path <> ALL(${paths}::text[])`.pipe(
        Effect.map((rows) => rows[0]!)
      )

    // A file's chunks are replaced whole: the old version may have had more of them. `stored: false` says no
    // version of these paths is indexed (a repository's first index), so there is nothing to delete.
    const upsert = (repositoryId: string, files: ReadonlyArray<IndexedFile>, stored: boolean) =>
      // The trigram index's pending list is merged in work_mem-sized runs: larger runs, fewer passes.
      (files.length === 0 ? Effect.void : sql`SELECT set_config('work_mem', '64MB', true)`).pipe(
        Effect.zipRight(
          Effect.forEach(
            Array.from(
              { length: Math.ceil(files.length / WRITE_BATCH) },
              (_, i) => files.slice(i * WRITE_BATCH, (i + 1) * WRITE_BATCH)
            ),
            (batch) => {
              const chunks = batch.flatMap((f) => chunksOf(f.content).map((c) => ({ file: f, chunk: c })))
              return Effect.all([
                sql`
              INSERT INTO indexed_files
                (repository_id, path, blob_sha, language, size_bytes, line_count, extractor_version)
              SELECT ${repositoryId}, * FROM unnest(
                ${batch.map((f) => f.path)}::text[], ${batch.map((f) => f.blobSha)}::text[],
                ${batch.map((f) => f.language)}::text[], ${batch.map((f) => f.sizeBytes)}::int[],
                ${batch.map((f) => f.lineCount)}::int[], ${batch.map((f) => f.extractorVersion)}::int[])
              ON CONFLICT (repository_id, path) DO UPDATE SET
                blob_sha = EXCLUDED.blob_sha, language = EXCLUDED.language, size_bytes = EXCLUDED.size_bytes,
                line_count = EXCLUDED.line_count, extractor_version = EXCLUDED.extractor_version,
                updated_at = now()`,
                stored
                  ? sql`
              DELETE FROM indexed_chunks
              WHERE repository_id = ${repositoryId} AND path = ANY(${batch.map((f) => f.path)}::text[])`
                  : Effect.void,
                chunks.length === 0 ? Effect.void : sql`
              INSERT INTO indexed_chunks (repository_id, path, chunk_no, start_line, language, content, folded)
              SELECT ${repositoryId}, * FROM unnest(
                ${chunks.map((c) => c.file.path)}::text[], ${chunks.map((c) => c.chunk.chunkNo)}::int[],
                ${chunks.map((c) => c.chunk.startLine)}::int[], ${chunks.map((c) => c.file.language)}::text[],
                ${chunks.map((c) => c.chunk.content)}::text[], ${chunks.map((c) => fold(c.chunk.content))}::text[])`
              ], { discard: true })
            },
            { discard: true }
          )
        ),
        // Searches read the pending list of the trigram index whole: merge what this write left there.
        Effect.zipRight(
          files.length === 0
            ? Effect.void
            : sql`SELECT gin_clean_pending_list(to_regclass('public.indexed_chunks_search_idx'))`
        )
      )

    const remove = (repositoryId: string, paths: ReadonlyArray<string>) =>
      paths.length === 0 ? Effect.void : Effect.all([
        sql`DELETE FROM indexed_files WHERE repository_id = ${repositoryId} AND path = ANY(${paths}::text[])`,
        sql`DELETE FROM indexed_chunks WHERE repository_id = ${repositoryId} AND path = ANY(${paths}::text[])`
      ], { discard: true })

    const recordUsage = (usage: {
      readonly repositoryId: string
      readonly jobId: string
      readonly apiKeyId: string | null
      readonly userId: string
      readonly files: number
      readonly bytes: number
      readonly commit: string
    }) =>
      sql`
        INSERT INTO token_usage (api_key_id, user_id, repository_id, job_id, usage_type, tokens_used, metadata)
        VALUES
          (${usage.apiKeyId}, ${usage.userId}, ${usage.repositoryId}, ${usage.jobId}, 'files_indexed', ${usage.files},
           ${JSON.stringify({ commit: usage.commit })}::jsonb),
          (${usage.apiKeyId}, ${usage.userId}, ${usage.repositoryId}, ${usage.jobId}, 'bytes_indexed', ${usage.bytes},
           ${JSON.stringify({ commit: usage.commit })}::jsonb)`.pipe(Effect.asVoid)

    const span = <A, E, R>(name: string) => (effect: Effect.Effect<A, E, R>) =>
      effect.pipe(Effect.orDie, Effect.withSpan(`IndexedFileStore.${name}`))

    return {
      compare: (
        repositoryId: string,
        entries: { readonly paths: ReadonlyArray<string>; readonly shas: ReadonlyArray<string> },
        extractorVersion: number,
        has: ((path: string) => boolean) | null
      ) => compare(repositoryId, entries, extractorVersion, has).pipe(span("compare")),
      staleExtraction: (repositoryId: string, extractorVersion: number) =>
        staleExtraction(repositoryId, extractorVersion).pipe(span("staleExtraction")),
      text: (repositoryId: string, path: string) => text(repositoryId, path).pipe(span("text")),
      totalsExcept: (repositoryId: string, paths: ReadonlyArray<string>) =>
        totalsExcept(repositoryId, paths).pipe(span("totalsExcept")),
      holdsAny: (repositoryId: string) => holdsAny(repositoryId).pipe(span("holdsAny")),
      upsert: (repositoryId: string, files: ReadonlyArray<IndexedFile>, stored = true) =>
        upsert(repositoryId, files, stored).pipe(span("upsert")),
      remove: (repositoryId: string, paths: ReadonlyArray<string>) => remove(repositoryId, paths).pipe(span("remove")),
      recordUsage: (usage: Parameters<typeof recordUsage>[0]) => recordUsage(usage).pipe(span("recordUsage"))
    } as const
  })
}) {}
