// The baseline of bench:index: bare `pg`, no git, no Effect. It reads the files from the working tree on
// disk, computes what the indexer stores per file (path, git blob sha, size, line count, content; language
// left NULL) and bulk-loads them: the full index with ONE `COPY … FROM STDIN`, the 1 % update with ONE
// upsert statement. See bench/README.md, section "index".
import { createHash } from "node:crypto"
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import pg from "pg"

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

const COLUMNS = "repository_id, path, blob_sha, language, size_bytes, line_count, content"
// CopyData messages of about this size.
const COPY_CHUNK_BYTES = 1024 * 1024

/** Every row in ONE `COPY indexed_files … FROM STDIN` (text format); the number of rows copied. */
export const copyRows = (client: pg.Client, repositoryId: string, rows: ReadonlyArray<Row>) => {
  const chunks: Array<Buffer> = []
  let pending: Array<string> = []
  let pendingLength = 0
  for (const row of rows) {
    const line = `${repositoryId}\t${escape(row.path)}\t${row.blobSha}\t\\N\t${row.sizeBytes}\t${row.lineCount}\t${
      escape(row.content)
    }\n`
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
        `COPY indexed_files (${COLUMNS}) FROM STDIN`,
        chunks,
        (error, result) => error === undefined || error === null ? resolve(result.rowCount ?? 0) : reject(error)
      )
    )
  })
}

const UNNEST = `SELECT $1::uuid, path, blob_sha, NULL, size_bytes, line_count, content
  FROM unnest($2::text[], $3::text[], $4::int[], $5::int[], $6::text[])
    AS f (path, blob_sha, size_bytes, line_count, content)`

const unnestValues = (repositoryId: string, rows: ReadonlyArray<Row>) => [
  repositoryId,
  rows.map((r) => r.path),
  rows.map((r) => r.blobSha),
  rows.map((r) => r.sizeBytes),
  rows.map((r) => r.lineCount),
  rows.map((r) => r.content)
]

export const UNNEST_BATCH = 1000

/**
 * The alternative to COPY (BENCH_BASELINE=unnest): multi-row INSERTs from unnest arrays, UNNEST_BATCH rows
 * each, in one transaction.
 */
export const insertRows = async (client: pg.Client, repositoryId: string, rows: ReadonlyArray<Row>) => {
  let inserted = 0
  await client.query("BEGIN")
  try {
    for (let at = 0; at < rows.length; at += UNNEST_BATCH) {
      const batch = rows.slice(at, at + UNNEST_BATCH)
      inserted +=
        (await client.query(`INSERT INTO indexed_files (${COLUMNS}) ${UNNEST}`, unnestValues(repositoryId, batch)))
          .rowCount ?? 0
    }
    await client.query("COMMIT")
  } catch (error) {
    await client.query("ROLLBACK")
    throw error
  }
  return inserted
}

/** The changed files in ONE upsert statement; the number of rows written. */
export const upsertRows = async (client: pg.Client, repositoryId: string, rows: ReadonlyArray<Row>) =>
  (await client.query(
    `INSERT INTO indexed_files (${COLUMNS}) ${UNNEST}
     ON CONFLICT (repository_id, path) DO UPDATE SET
       blob_sha = EXCLUDED.blob_sha, language = EXCLUDED.language, size_bytes = EXCLUDED.size_bytes,
       line_count = EXCLUDED.line_count, content = EXCLUDED.content, updated_at = now()`,
    unnestValues(repositoryId, rows)
  )).rowCount ?? 0
