// The baseline of bench:index: bare `pg`, no git, no Effect. It reads the files from the working tree on
// disk, computes what the indexer stores per file (path, git blob sha, size, line count; language left NULL;
// the content in the indexer's chunks, with their case-folded copies) and bulk-loads them: the full index
// with one `COPY … FROM STDIN` per table, the 1 % update with one upsert and one replacement of the chunks.
// Both then merge the trigram index's pending list, as the indexer does. See bench/README.md, section "index".
import { createHash } from "node:crypto"
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import pg from "pg"
import { chunksOf, fold } from "../../src/services/stores/Chunking.js"

// The indexer's rules (src/services/Indexer.ts): files over max_file_size (default 1 MiB) and files with a
// NUL byte in their first 8000 bytes (git's binary test) are skipped.
export const MAX_FILE_SIZE = 1024 * 1024
const BINARY_SNIFF_BYTES = 8000

export const isIndexable = (content: Buffer) =>
  content.length <= MAX_FILE_SIZE && !content.subarray(0, BINARY_SNIFF_BYTES).includes(0)

export interface Row {
  readonly path: string
  readonly blobSha: string
  readonly sizeBytes: number
  readonly lineCount: number
  readonly content: string
}

/** Lines as the indexer counts them: newlines, plus one for a last line without its newline. */
const lineCount = (text: string) => {
  if (text.length === 0) return 0
  let lines = 0
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) lines++
  return text.endsWith("\n") ? lines : lines + 1
}

/** `git hash-object`: the SHA-1 of `blob <size>\0<content>`. */
const blobSha = (content: Buffer) => createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex")

const toRow = (path: string, content: Buffer): Row => {
  const text = content.toString("utf8")
  return { path, blobSha: blobSha(content), sizeBytes: content.length, lineCount: lineCount(text), content: text }
}

/** Reads `paths` under `root` and turns each indexable file into its row. */
export const readRows = async (root: string, paths: ReadonlyArray<string>) => {
  const contents = await Promise.all(paths.map((path) => readFile(join(root, path))))
  const rows: Array<Row> = []
  for (const [i, content] of contents.entries()) if (isIndexable(content)) rows.push(toRow(paths[i]!, content))
  return rows
}

// COPY text format: backslash, tab, newline and carriage return are escaped; `\N` is NULL.
const escape = (text: string) =>
  text.replaceAll("\\", "\\\\").replaceAll("\t", "\\t").replaceAll("\n", "\\n").replaceAll("\r", "\\r")

/**
 * `COPY … FROM STDIN` through `pg` itself (pg-copy-streams is not installed): a `pg.Query` whose
 * copy-in hook sends the prepared CopyData messages and then CopyDone.
 */
class CopyFromStdin extends pg.Query {
  constructor(
    text: string,
    private readonly chunks: ReadonlyArray<Buffer>,
    callback: (error: Error | undefined, result: pg.QueryResult) => void
  ) {
    super(text, callback)
  }

  handleCopyInResponse(connection: { sendCopyFromChunk: (chunk: Buffer) => void; endCopyFrom: () => void }) {
    for (const chunk of this.chunks) connection.sendCopyFromChunk(chunk)
    connection.endCopyFrom()
  }
}

const COLUMNS = "repository_id, path, blob_sha, language, size_bytes, line_count"
const CHUNK_COLUMNS = "repository_id, path, chunk_no, start_line, language, content, folded"
// CopyData messages of about this size.
const COPY_CHUNK_BYTES = 1024 * 1024

const copy = (client: pg.Client, text: string, lines: Iterable<string>) => {
  const chunks: Array<Buffer> = []
  let pending: Array<string> = []
  let pendingLength = 0
  for (const line of lines) {
    pending.push(line)
    pendingLength += line.length
    if (pendingLength >= COPY_CHUNK_BYTES) {
      chunks.push(Buffer.from(pending.join(""), "utf8"))
      pending = []
      pendingLength = 0
    }
  }
  if (pending.length > 0) chunks.push(Buffer.from(pending.join(""), "utf8"))
  return new Promise<number>((resolve, reject) => {
    client.query(
      new CopyFromStdin(
        text,
        chunks,
        (error, result) => error === undefined || error === null ? resolve(result.rowCount ?? 0) : reject(error)
      )
    )
  })
}

function* chunkLines(repositoryId: string, rows: ReadonlyArray<Row>) {
  for (const row of rows) {
    for (const chunk of chunksOf(row.content)) {
      yield `${repositoryId}\t${escape(row.path)}\t${chunk.chunkNo}\t${chunk.startLine}\t\\N\t${
        escape(chunk.content)
      }\t${escape(fold(chunk.content))}\n`
    }
  }
}

const cleanPendingList = async (client: pg.Client) => {
  await client.query("SELECT gin_clean_pending_list(to_regclass('public.indexed_chunks_search_idx'))")
}

/** Every row in one `COPY … FROM STDIN` per table (text format); the number of files copied. */
export const copyRows = async (client: pg.Client, repositoryId: string, rows: ReadonlyArray<Row>) => {
  await client.query("BEGIN")
  await client.query("SET LOCAL work_mem = '64MB'")
  const files = await copy(
    client,
    `COPY indexed_files (${COLUMNS}) FROM STDIN`,
    rows.map((row) => `${repositoryId}\t${escape(row.path)}\t${row.blobSha}\t\\N\t${row.sizeBytes}\t${row.lineCount}\n`)
  )
  await copy(client, `COPY indexed_chunks (${CHUNK_COLUMNS}) FROM STDIN`, chunkLines(repositoryId, rows))
  await cleanPendingList(client)
  await client.query("COMMIT")
  return files
}

const UNNEST = `SELECT $1::uuid, path, blob_sha, NULL, size_bytes, line_count
  FROM unnest($2::text[], $3::text[], $4::int[], $5::int[]) AS f (path, blob_sha, size_bytes, line_count)`

const unnestValues = (repositoryId: string, rows: ReadonlyArray<Row>) => [
  repositoryId,
  rows.map((r) => r.path),
  rows.map((r) => r.blobSha),
  rows.map((r) => r.sizeBytes),
  rows.map((r) => r.lineCount)
]

const CHUNK_UNNEST = `SELECT $1::uuid, path, chunk_no, start_line, NULL, content, folded
  FROM unnest($2::text[], $3::int[], $4::int[], $5::text[], $6::text[])
    AS c (path, chunk_no, start_line, content, folded)`

const chunkValues = (repositoryId: string, rows: ReadonlyArray<Row>) => {
  const chunks = rows.flatMap((row) => chunksOf(row.content).map((chunk) => ({ path: row.path, chunk })))
  return [
    repositoryId,
    chunks.map((c) => c.path),
    chunks.map((c) => c.chunk.chunkNo),
    chunks.map((c) => c.chunk.startLine),
    chunks.map((c) => c.chunk.content),
    chunks.map((c) => fold(c.chunk.content))
  ]
}

export const UNNEST_BATCH = 1000

/**
 * The alternative to COPY (BENCH_BASELINE=unnest): multi-row INSERTs from unnest arrays, UNNEST_BATCH rows
 * each, in one transaction.
 */
export const insertRows = async (client: pg.Client, repositoryId: string, rows: ReadonlyArray<Row>) => {
  let inserted = 0
  await client.query("BEGIN")
  try {
    await client.query("SET LOCAL work_mem = '64MB'")
    for (let at = 0; at < rows.length; at += UNNEST_BATCH) {
      const batch = rows.slice(at, at + UNNEST_BATCH)
      inserted +=
        (await client.query(`INSERT INTO indexed_files (${COLUMNS}) ${UNNEST}`, unnestValues(repositoryId, batch)))
          .rowCount ?? 0
      await client.query(
        `INSERT INTO indexed_chunks (${CHUNK_COLUMNS}) ${CHUNK_UNNEST}`,
        chunkValues(repositoryId, batch)
      )
    }
    await cleanPendingList(client)
    await client.query("COMMIT")
  } catch (error) {
    await client.query("ROLLBACK")
    throw error
  }
  return inserted
}

/** The changed files in one upsert and one replacement of their chunks; the number of files written. */
export const upsertRows = async (client: pg.Client, repositoryId: string, rows: ReadonlyArray<Row>) => {
  await client.query("BEGIN")
  await client.query("SET LOCAL work_mem = '64MB'")
  const written = (await client.query(
    `INSERT INTO indexed_files (${COLUMNS}) ${UNNEST}
     ON CONFLICT (repository_id, path) DO UPDATE SET
       blob_sha = EXCLUDED.blob_sha, language = EXCLUDED.language, size_bytes = EXCLUDED.size_bytes,
       line_count = EXCLUDED.line_count, updated_at = now()`,
    unnestValues(repositoryId, rows)
  )).rowCount ?? 0
  await client.query("DELETE FROM indexed_chunks WHERE repository_id = $1 AND path = ANY($2::text[])", [
    repositoryId,
    rows.map((r) => r.path)
  ])
  await client.query(`INSERT INTO indexed_chunks (${CHUNK_COLUMNS}) ${CHUNK_UNNEST}`, chunkValues(repositoryId, rows))
  await cleanPendingList(client)
  await client.query("COMMIT")
  return written
}
