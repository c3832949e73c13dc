import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export interface IndexedFile {
  readonly path: string
  readonly blobSha: string
  readonly language: string | null
  readonly sizeBytes: number
  readonly lineCount: number
  readonly content: string
}

export interface SearchRow {
  readonly repositoryId: string
  readonly path: string
  readonly content: string
}

// Rows per statement: keeps each statement's parameters (arrays, so 6 of them) and memory bounded.
const WRITE_BATCH = 500

/** Owns `indexed_files` (and `token_usage`, which only the indexer writes). */
export class IndexedFileStore extends Effect.Service<IndexedFileStore>()("services/stores/IndexedFileStore", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    /** path → blob sha of everything indexed for the repository. */
    const blobShas = (repositoryId: string) =>
      sql<
        { path: string; blobSha: string }
      >`SELECT path, blob_sha FROM indexed_files WHERE repository_id = ${repositoryId}`
        .pipe(Effect.map((rows) => new Map(rows.map((row) => [row.path, row.blobSha]))))

    const upsert = (repositoryId: string, files: ReadonlyArray<IndexedFile>) =>
      Effect.forEach(
        Array.from({ length: Math.ceil(files.length / WRITE_BATCH) }, (_, i) =>
          files.slice(i * WRITE_BATCH, (i + 1) * WRITE_BATCH)),
        (batch) =>
          sql`
            INSERT INTO indexed_files (repository_id, path, blob_sha, language, size_bytes, line_count, content)
            SELECT ${repositoryId}, * FROM unnest(
              ${
            batch.map((f) => f.path)
          }::text[], ${batch.map((f) => f.blobSha)}::text[],
              ${batch.map((f) => f.language)}::text[], ${batch.map((f) => f.sizeBytes)}::int[],
              ${batch.map((f) => f.lineCount)}::int[], ${batch.map((f) => f.content)}::text[])
            ON CONFLICT (repository_id, path) DO UPDATE SET
              blob_sha = EXCLUDED.blob_sha, language = EXCLUDED.language, size_bytes = EXCLUDED.size_bytes,
              line_count = EXCLUDED.line_count, content = EXCLUDED.content, updated_at = now()`,
        { discard: true }
      )

    const remove = (repositoryId: string, paths: ReadonlyArray<string>) =>
      paths.length === 0 ? Effect.void : sql`
        DELETE FROM indexed_files WHERE repository_id = ${repositoryId} AND path = ANY(${paths}::text[])`.pipe(
        Effect.asVoid
      )

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

    /**
     * Files of the user's repositories containing `pattern` (an ILIKE pattern, served by the trigram
     * index), in (repository_id, path) order after `after`.
     */
    const search = (options: {
      readonly userId: string
      readonly pattern: string
      readonly repositoryId: string | null
      readonly after: { readonly repositoryId: string; readonly path: string } | null
      readonly limit: number
    }) =>
      sql<SearchRow>`
        SELECT f.repository_id, f.path, f.content
        FROM indexed_files f JOIN repositories r ON r.id = f.repository_id
        WHERE r.user_id = ${options.userId}
          ${options.repositoryId === null ? sql`` : sql`AND f.repository_id = ${options.repositoryId}`}
          ${
        options.after === null
          ? sql``
          : sql`AND (f.repository_id, f.path) > (${options.after.repositoryId}::uuid, ${options.after.path})`
      }
          AND f.content ILIKE ${options.pattern}
        ORDER BY f.repository_id, f.path
        LIMIT ${options.limit}`

    const span = <A, E, R>(name: string) => (effect: Effect.Effect<A, E, R>) =>
      effect.pipe(Effect.orDie, Effect.withSpan(`IndexedFileStore.${name}`))

    return {
      blobShas: (repositoryId: string) => blobShas(repositoryId).pipe(span("blobShas")),
      upsert: (repositoryId: string, files: ReadonlyArray<IndexedFile>) =>
        upsert(repositoryId, files).pipe(span("upsert")),
      remove: (repositoryId: string, paths: ReadonlyArray<string>) => remove(repositoryId, paths).pipe(span("remove")),
      recordUsage: (usage: Parameters<typeof recordUsage>[0]) => recordUsage(usage).pipe(span("recordUsage")),
      search: (options: Parameters<typeof search>[0]) => search(options).pipe(span("search"))
    } as const
  })
}) {}
