import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import type { Required } from "../../domain/SearchRegex.js"
import type { SearchStatement } from "./SearchDatabase.js"

/** Chunks per ordered probe, for a pattern too common to read through the trigram index first (bench/README.md, search). */
export const PROBE_CHUNKS = 256
/** Candidate chunks per statement read through the trigram index. */
export const BATCH_CHUNKS = 200
/** At most this many candidates left in a repository: the trigram index reads them at once, without a probe. */
export const SELECTIVE_CHUNKS = 1000

export interface ChunkRow {
  readonly path: string
  readonly chunk_no: number
  readonly start_line: number
  readonly language: string | null
  /** null for a chunk of the probe that is not a candidate. */
  readonly content: string | null
}

/** Where a search is in one repository: after this chunk. */
export interface Position {
  readonly path: string
  readonly chunkNo: number
}

export interface ChunkFilter {
  /** Case-folded literals a candidate chunk must contain, as a formula; "any" when nothing narrows. */
  readonly required: Required
  readonly paths: ReadonlyArray<{ readonly value: string; readonly negated: boolean }>
  readonly languages: ReadonlyArray<{ readonly name: string; readonly negated: boolean }>
}

const GLOB = /[*?[{]/

/** A path glob as an anchored Postgres regex; a glob without a slash matches the file name in any directory. */
export const globRegex = (glob: string): string => {
  let out = ""
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!
    if (c === "*" && glob[i + 1] === "*") {
      if (glob[i + 2] === "/") {
        out += "(?:.*/)?"
        i += 2
      } else {
        out += ".*"
        i += 1
      }
    } else if (c === "*") out += "[^/]*"
    else if (c === "?") out += "[^/]"
    else if (c === "{") {
      const close = glob.indexOf("}", i)
      if (close === -1) out += "\\{"
      else {
        out += `(?:${glob.slice(i + 1, close).split(",").map((alt) => globRegex(alt).slice(1, -1)).join("|")})`
        i = close
      }
    } else if (c === "[") {
      const close = glob.indexOf("]", i + 2)
      if (close === -1) out += "\\["
      else {
        const body = glob.slice(i + 1, close).replace(/^!/, "^").replace(/\\/g, "\\\\")
        out += `[${body}]`
        i = close
      }
    } else out += /[A-Za-z0-9_/]/.test(c) ? c : `\\${c}`
  }
  return glob.includes("/") ? `^${out.replace(/^\//, "")}$` : `(?:^|/)${out}$`
}

const likeEscape = (s: string) => `%${s.replace(/[\\%_]/g, "\\$&")}%`
/** pg_trgm finds trigrams only in runs of three letters or digits; a literal without one cannot use the index. */
const indexable = (s: string) => /[\p{L}\p{N}]{3}/u.test(s)

/** The formula with every literal the index cannot use replaced by "any". */
export const indexableOnly = (r: Required): Required => {
  switch (r._tag) {
    case "any":
      return r
    case "literal":
      return indexable(r.text) ? r : { _tag: "any" }
    case "and": {
      const items = r.items.map(indexableOnly).filter((i) => i._tag !== "any")
      return items.length === 0 ? { _tag: "any" } : items.length === 1 ? items[0]! : { _tag: "and", items }
    }
    case "or": {
      const items = r.items.map(indexableOnly)
      return items.some((i) => i._tag === "any") ? { _tag: "any" } : { _tag: "or", items }
    }
  }
}

/**
 * Letters or digits in a row from which a literal is taken for a rare one: long identifiers are, while words
 * common in code (`function`, `return`, `default`, `strict`) are short (bench/README.md, search, session 2).
 */
export const SELECTIVE_RUN = 10

const longestRun = (s: string) => Math.max(0, ...(s.match(/[\p{L}\p{N}]+/gu) ?? []).map((run) => run.length))

/**
 * Whether a formula looks selective enough to read through the trigram index before any ordered probe: only a
 * guess, which costs time and never results either way (a pattern with more candidates still turns to the probe).
 */
export const likelySelective = (r: Required): boolean => {
  switch (r._tag) {
    case "any":
      return false
    case "literal":
      return longestRun(r.text) >= SELECTIVE_RUN
    case "and":
      return r.items.some(likelySelective)
    case "or":
      return r.items.every(likelySelective)
  }
}

/** Numbered statement parameters, added as the SQL text is built. */
export class Params {
  readonly values: Array<unknown> = []
  add(value: unknown) {
    this.values.push(value)
    return `$${this.values.length}`
  }
}

/** SQL for a formula: LIKE on `folded` where the index serves it, strpos where it cannot. */
const formulaSql = (r: Required, params: Params): string => {
  switch (r._tag) {
    case "any":
      return "true"
    case "literal":
      return indexable(r.text)
        ? `folded LIKE ${params.add(likeEscape(r.text))}`
        : `strpos(folded, ${params.add(r.text)}) > 0`
    case "and":
      return `(${r.items.map((i) => formulaSql(i, params)).join(" AND ")})`
    case "or":
      return `(${r.items.map((i) => formulaSql(i, params)).join(" OR ")})`
  }
}

/** The path and language filters of a query over a table with `path` and `language` columns. */
export const filterSql = (filter: Pick<ChunkFilter, "paths" | "languages">, params: Params) => {
  const parts: Array<string> = []
  for (const p of filter.paths) {
    const test = GLOB.test(p.value)
      ? `path ~ ${params.add(globRegex(p.value))}`
      : `strpos(path, ${params.add(p.value)}) > 0`
    parts.push(p.negated ? `NOT ${test}` : test)
  }
  const wanted = filter.languages.filter((l) => !l.negated).map((l) => l.name)
  const unwanted = filter.languages.filter((l) => l.negated).map((l) => l.name)
  if (wanted.length > 0) parts.push(`language = ANY(${params.add(wanted)}::text[])`)
  if (unwanted.length > 0) parts.push(`(language IS NULL OR NOT language = ANY(${params.add(unwanted)}::text[]))`)
  return parts.map((p) => ` AND ${p}`).join("")
}

const COLUMNS = "path, chunk_no, start_line, language"

/**
 * How a statement reads `indexed_chunks`: in path order through the primary key, or through the trigram index.
 * The planner is steered, not left to its estimates (pg_trgm's LIKE selectivity follows only the pattern's length).
 */
export type Plan = "ordered" | "index"

const PLANS: Record<Plan, string> = {
  ordered: "SET LOCAL enable_bitmapscan = off; SET LOCAL enable_indexscan = on; SET LOCAL enable_seqscan = off",
  index: "SET LOCAL enable_bitmapscan = on; SET LOCAL enable_indexscan = off; SET LOCAL enable_seqscan = off"
}

/** A search's connection inside its transaction, with the plan its statements are steered to (sent only when it changes). */
export interface Reader {
  readonly run: SearchStatement
  readonly steer: (plan: Plan) => Effect.Effect<void, SqlError>
}

/**
 * Reads `indexed_chunks` for code search on the search pool's connection (IndexedFileStore writes them).
 * Every statement names one repository first, so its cost follows that repository's rows only.
 */
export const SearchStore = {
  /** The search's read-only transaction, and its plan steering, the first plan set with BEGIN in one round trip. */
  begin: (run: SearchStatement, plan: Plan | null): Effect.Effect<Reader, SqlError> => {
    let current = plan
    const steer = (next: Plan) =>
      next === current ? Effect.void : run(PLANS[next]).pipe(
        Effect.tap(() => {
          current = next
        }),
        Effect.asVoid
      )
    return run(plan === null ? "BEGIN READ ONLY" : `BEGIN READ ONLY; ${PLANS[plan]}`).pipe(Effect.as({ run, steer }))
  },

  /**
   * The candidates after `after` through the trigram index, when there are at most SELECTIVE_CHUNKS of them:
   * the keys of the first `limit` in order, and the content of the first `withContent` of those (the rest is
   * read by `chunks` only if the page needs it, so the rows sent follow the page, not the candidates). `total`
   * is their number, or more than SELECTIVE_CHUNKS (and no rows) when the pattern is too common for that, which
   * costs the index scan and that many rechecks, not the whole repository. (`OFFSET 0` keeps the content read
   * a subquery, so that its `k` condition skips the heap for the other keys instead of filtering after it.)
   */
  selective: (
    reader: Reader,
    repositoryId: string,
    after: Position,
    filter: ChunkFilter,
    limit: number,
    withContent: number
  ) => {
    const params = new Params()
    const repository = params.add(repositoryId)
    const text = `
      WITH c AS MATERIALIZED (
        SELECT path, chunk_no, ctid AS tid FROM indexed_chunks
        WHERE repository_id = ${repository} AND (path, chunk_no) > (${params.add(after.path)}, ${
      params.add(after.chunkNo)
    }::int)
          AND ${formulaSql(filter.required, params)}${filterSql(filter, params)}
        LIMIT ${SELECTIVE_CHUNKS + 1}
      ), n AS (SELECT count(*)::int AS total FROM c),
      f AS (
        SELECT s.*, row_number() OVER (ORDER BY path, chunk_no) AS k FROM (
          SELECT c.* FROM c, n WHERE n.total <= ${SELECTIVE_CHUNKS} ORDER BY path, chunk_no LIMIT ${params.add(limit)}
        ) s
      )
      SELECT n.total, f.path, f.chunk_no, i.start_line, i.language, i.content
      FROM n LEFT JOIN f ON true LEFT JOIN LATERAL (
        SELECT start_line, language, content FROM indexed_chunks
        WHERE f.k <= ${params.add(withContent)} AND ctid = f.tid AND repository_id = ${repository}
        OFFSET 0
      ) i ON true
      ORDER BY f.path, f.chunk_no`
    return reader.steer("index").pipe(
      Effect.zipRight(
        reader.run<
          & { total: number; path: string | null; chunk_no: number; start_line: number | null }
          & Pick<
            ChunkRow,
            "language" | "content"
          >
        >(text, params.values)
      ),
      Effect.map((found) => {
        const rows: Array<ChunkRow> = []
        const keys: Array<Position> = []
        for (const row of found) {
          if (row.path === null) continue
          if (row.start_line !== null) rows.push(row as ChunkRow)
          else keys.push({ path: row.path, chunkNo: row.chunk_no })
        }
        return { total: found[0]?.total ?? 0, rows, keys } as const
      })
    )
  },

  /** The chunks with these keys (candidates `selective` found), in order; a chunk deleted since is left out. */
  chunks: (reader: Reader, repositoryId: string, keys: ReadonlyArray<Position>) => {
    const text = `
      SELECT ${COLUMNS}, content FROM indexed_chunks
      WHERE repository_id = $1 AND (path, chunk_no) IN (SELECT * FROM unnest($2::text[], $3::int[]))
      ORDER BY path, chunk_no`
    return Effect.zipRight(
      reader.steer("ordered"),
      reader.run<ChunkRow>(text, [repositoryId, keys.map((k) => k.path), keys.map((k) => k.chunkNo)])
    )
  },

  /**
   * The next PROBE_CHUNKS chunks in order, with the content of the candidates: for a common pattern the
   * first page is here, whatever the index would say.
   */
  probe: (reader: Reader, repositoryId: string, after: Position, filter: ChunkFilter, prefilter: Required) => {
    const params = new Params()
    const text = `
      SELECT ${COLUMNS}, CASE WHEN ${formulaSql(prefilter, params)} THEN content END AS content
      FROM (
        SELECT * FROM indexed_chunks
        WHERE repository_id = ${params.add(repositoryId)} AND (path, chunk_no) > (${params.add(after.path)}, ${
      params.add(after.chunkNo)
    }::int)${filterSql(filter, params)}
        ORDER BY path, chunk_no LIMIT ${PROBE_CHUNKS}
      ) w`
    return Effect.zipRight(reader.steer("ordered"), reader.run<ChunkRow>(text, params.values))
  },

  /** The next candidate chunks in order, found through the trigram index (never a scan of the repository). */
  candidates: (reader: Reader, repositoryId: string, after: Position, filter: ChunkFilter, limit: number) => {
    const params = new Params()
    const text = `
      SELECT ${COLUMNS}, content FROM indexed_chunks
      WHERE repository_id = ${params.add(repositoryId)} AND (path, chunk_no) > (${params.add(after.path)}, ${
      params.add(after.chunkNo)
    }::int)
        AND ${formulaSql(filter.required, params)}${filterSql(filter, params)}
      ORDER BY path, chunk_no LIMIT ${params.add(limit)}`
    return Effect.zipRight(reader.steer("index"), reader.run<ChunkRow>(text, params.values))
  },

  /** The next chunks in order that pass `prefilter` (no index can narrow them): reads the repository in order. */
  scan: (
    reader: Reader,
    repositoryId: string,
    after: Position,
    filter: ChunkFilter,
    prefilter: Required,
    limit: number
  ) => {
    const params = new Params()
    const text = `
      SELECT ${COLUMNS}, content FROM indexed_chunks
      WHERE repository_id = ${params.add(repositoryId)} AND (path, chunk_no) > (${params.add(after.path)}, ${
      params.add(after.chunkNo)
    }::int)
        AND ${formulaSql(prefilter, params)}${filterSql(filter, params)}
      ORDER BY path, chunk_no LIMIT ${params.add(limit)}`
    return Effect.zipRight(reader.steer("ordered"), reader.run<ChunkRow>(text, params.values))
  },

  /** The chunks of one file that hold lines `from` to `to`, in order. */
  lines: (run: SearchStatement, repositoryId: string, path: string, from: number, to: number) =>
    run<{ start_line: number; content: string }>(
      `SELECT start_line, content FROM indexed_chunks
       WHERE repository_id = $1 AND path = $2 AND start_line <= $4 AND chunk_no >= coalesce((
         SELECT max(chunk_no) FROM indexed_chunks WHERE repository_id = $1 AND path = $2 AND start_line <= $3), 0)
       ORDER BY chunk_no`,
      [repositoryId, path, from, to]
    ),

  /** The user's repositories in id order (the order results come in). */
  repositories: (run: SearchStatement, userId: string) =>
    run<{ id: string; name: string }>("SELECT id, name FROM repositories WHERE user_id = $1 ORDER BY id", [userId]),

  /** Files (no pattern: the query lists files) in order after `afterPath`. */
  files: (run: SearchStatement, repositoryId: string, afterPath: string, filter: ChunkFilter, limit: number) => {
    const params = new Params()
    const text = `
      SELECT path, language FROM indexed_files
      WHERE repository_id = ${params.add(repositoryId)} AND path > ${params.add(afterPath)}${filterSql(filter, params)}
      ORDER BY path LIMIT ${params.add(limit)}`
    return run<{ path: string; language: string | null }>(text, params.values)
  }
}
