import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import type { ReferenceKind } from "../../symbols/Extraction.js"
import { REFERENCE_KIND_CODES } from "./CodeIntelStore.js"
import type { SearchStatement } from "./SearchDatabase.js"
import type { ChunkFilter } from "./SearchStore.js"
import { filterSql as fileFilterSql, Params } from "./SearchStore.js"

export interface SymbolRow {
  readonly repository_id: string
  readonly path: string
  readonly ordinal: number
  readonly name: string
  readonly kind: string
  readonly language: string
  readonly line: number
  readonly col: number
  readonly end_line: number
  readonly end_col: number
  readonly container: string | null
  readonly signature: string
}

/**
 * Where a symbol sits in symbol search's order: rank (0 exact, 1 prefix, 2 contains from the trigram index,
 * 3 contains read in name order), lower-cased name, ...
 */
export interface SymbolKey {
  readonly rank: number
  readonly lname: string
  readonly repositoryId: string
  readonly path: string
  readonly ordinal: number
}

export type RankedSymbolRow = SymbolRow & { readonly rank: number; readonly lname: string }

export interface SymbolFilter {
  readonly kind: string | undefined
  readonly language: string | undefined
}

/**
 * Symbol search's index reads, each in (lower-cased name, repository, path, ordinal) order: `named` is
 * the names equal to q then those starting with it (one range), `contains` the rest containing q, `all` every
 * definition.
 */
export type SymbolGroup = "named" | "contains" | "all"

export interface ReferenceRow {
  readonly repository_id: string
  readonly path: string
  readonly ordinal: number
  readonly name: string
  readonly kind: string
  readonly line: number
  readonly col: number
  readonly enclosing: string | null
}

export interface CallerRow {
  readonly repository_id: string
  readonly path: string
  readonly enclosing: string | null
  readonly call_count: number
  readonly lines: ReadonlyArray<number>
  readonly cols: ReadonlyArray<number>
}

export interface FileRow {
  readonly language: string | null
  readonly size_bytes: number
  readonly line_count: number
}

export interface Edge {
  readonly path: string
  readonly resolved_path: string
}

const SYMBOL_COLUMNS = "repository_id, path, ordinal, name, kind, language, line, col, end_line, end_col, container, " +
  "signature"
const SYMBOLS_AS_S = SYMBOL_COLUMNS.split(", ").map((column) => `s.${column}`).join(", ")
const LNAME = `lower(name) COLLATE "C"`
/** The largest code point: every name starting with p sorts between p and p || MAX_CHAR in byte order. */
const MAX_CHAR = "chr(1114111)"

/** Symbol search's order within a rank: lower-cased name (byte order), then where the definition is. */
const ORDER = "lname, repository_id, path, ordinal"

/** The cursor's key as parameters, but its rank and repository (which a statement may use or not). */
const keyParams = (after: SymbolKey, params: Params) => ({
  lname: `${params.add(after.lname)}::text COLLATE "C"`,
  path: `${params.add(after.path)}::text`,
  ordinal: `${params.add(after.ordinal)}::int`
})

/** `name` equal to `value` (a text parameter): a range of the lower-cased name index (0025, see 0026). */
const nameIs = (value: string) => `${LNAME} = lower(${value}::text) AND name = ${value}::text`

/** `name` one of `values` (a text[] parameter): ranges of the lower-cased name index (0025, see 0026). */
const nameIn = (values: string) =>
  `${LNAME} = ANY(ARRAY(SELECT lower(n) FROM unnest(${values}::text[]) AS n)) AND name = ANY(${values}::text[])`

const filterSql = (filter: SymbolFilter, params: Params) =>
  (filter.kind === undefined ? "" : ` AND kind = ${params.add(filter.kind)}`) +
  (filter.language === undefined ? "" : ` AND language = ${params.add(filter.language)}`)

/** A reference's kind from its one-byte code in `code_references.kinds` (migration 0027). */
const kindOf = (code: string) =>
  `CASE ${code} ${Object.entries(REFERENCE_KIND_CODES).map(([kind, c]) => `WHEN '${c}' THEN '${kind}'`).join(" ")} END`
const CALL = `'${REFERENCE_KIND_CODES.call}'`

/** `%q%` for LIKE, with LIKE's own characters escaped. */
export const containsPattern = (q: string) => `%${q.replace(/[\\%_]/g, "\\$&")}%`

const PLANS = {
  /** The trigram index, every match found before any is read. */
  bitmap: "SET LOCAL enable_bitmapscan = on; SET LOCAL enable_indexscan = off; SET LOCAL enable_indexonlyscan = off; " +
    "SET LOCAL enable_sort = on",
  /** A btree read in order, stopping at the statement's LIMIT. */
  ordered: "SET LOCAL enable_bitmapscan = off; SET LOCAL enable_indexscan = on; SET LOCAL enable_indexonlyscan = on; " +
    "SET LOCAL enable_sort = on",
  /**
   * A btree read in the statement's order and nothing else: with a low guess for a filter (`LIKE '%q%'`) the
   * planner would rather read a smaller index whole and sort it.
   */
  inOrder: "SET LOCAL enable_bitmapscan = off; SET LOCAL enable_indexscan = on; SET LOCAL enable_indexonlyscan = on; " +
    "SET LOCAL enable_sort = off"
} as const

export type Access = keyof typeof PLANS

/**
 * Every plan: a sequential scan never serves a statement (it would read other tenants' rows), whatever the
 * planner estimates, no parallel workers (starting them costs more than a page of navigation) and no JIT (a
 * penalty above can push an estimate past `jit_above_cost`, and compiling costs more than any of these
 * statements).
 */
const ALWAYS = "SET LOCAL enable_seqscan = off; SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL jit = off"

/**
 * A request's connection inside its read-only transaction, and the plan its statements are steered to now:
 * the settings travel with BEGIN, and again only when a statement needs another plan (each is a round trip).
 */
export interface NavigationReader {
  readonly run: SearchStatement
  /** null: not known (another store's transaction), so the next statement sends every setting. */
  plan: Access | null
}

/**
 * One statement, on the current plan when it is one of `accesses`, else after steering to the first of them
 * (decided when it runs, not when it is built).
 */
const on =
  (reader: NavigationReader, ...accesses: [Access, ...Array<Access>]) =>
  <Row>(text: string, values: ReadonlyArray<unknown>) =>
    Effect.suspend(() => {
      const current = reader.plan
      if (current !== null && accesses.includes(current)) return reader.run<Row>(text, values)
      const next = accesses[0]
      return reader.run(current === null ? `${ALWAYS}; ${PLANS[next]}` : PLANS[next]).pipe(
        Effect.tap(() => {
          reader.plan = next
        }),
        Effect.zipRight(reader.run<Row>(text, values))
      )
    })

/**
 * Reads what the indexer extracted (`code_symbols`, `code_references`, `code_imports`) and the indexed files, on
 * the search pool's connection, for code navigation (SPEC 10). Every statement names the caller's repositories
 * first and is served by an index on them; none reads a repository whole, except where it says so.
 */
export const NavigationStore = {
  /** The request's read-only transaction, steered to `plan` (its first statement's) in the same round trip. */
  begin: (run: SearchStatement, plan: Access): Effect.Effect<NavigationReader, SqlError> =>
    run(`BEGIN READ ONLY; ${ALWAYS}; ${PLANS[plan]}`).pipe(Effect.as({ run, plan })),
  commit: (reader: NavigationReader) => reader.run("COMMIT").pipe(Effect.asVoid),
  /** A reader for one statement inside another store's transaction, which steers it as that store does not. */
  within: (run: SearchStatement): NavigationReader => ({ run, plan: null }),

  /** The user's repositories in id order (sorted here, so that a plan without sorts reads only theirs). */
  repositories: (reader: NavigationReader, userId: string) =>
    on(reader, "ordered", "inOrder")<{ id: string; name: string; last_indexed_commit: string | null }>(
      "SELECT id, name, last_indexed_commit FROM repositories WHERE user_id = $1",
      [userId]
    ).pipe(Effect.map((rows) => [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)))),

  /** One repository of the user's; none when it is another user's or does not exist. */
  repository: (reader: NavigationReader, repositoryId: string, userId: string) =>
    on(reader, "ordered", "inOrder")<{ id: string; name: string; last_indexed_commit: string | null }>(
      "SELECT id, name, last_indexed_commit FROM repositories WHERE id = $1 AND user_id = $2",
      [repositoryId, userId]
    ).pipe(Effect.map((rows) => rows[0])),

  /**
   * Symbol search's contains group when its matches are few: up to `cap + 1` of the names containing q but
   * not starting with it (the trigram index), ordered and paged here. `candidates` above `cap` means there
   * are too many to order this way.
   */
  symbolCandidates: (
    reader: NavigationReader,
    repositoryIds: ReadonlyArray<string>,
    q: string,
    filter: SymbolFilter,
    after: SymbolKey | null,
    limit: number,
    cap: number
  ) => {
    const params = new Params()
    const ids = params.add(repositoryIds)
    const query = params.add(q)
    const like = params.add(containsPattern(q))
    const where = filterSql(filter, params)
    const capped = params.add(cap + 1)
    const keyset = after === null ? "" : (() => {
      const repository = params.add(after.repositoryId)
      const k = keyParams(after, params)
      return `WHERE (${ORDER}) > (${k.lname}, ${repository}::uuid, ${k.path}, ${k.ordinal})`
    })()
    const text = `
      WITH c AS MATERIALIZED (
        SELECT ${SYMBOL_COLUMNS}, ${LNAME} AS lname, 2 AS rank
        FROM code_symbols
        WHERE repository_id = ANY(${ids}::uuid[]) AND lower(name) LIKE lower(${like})
          AND NOT starts_with(lower(name), lower(${query}))${where}
        LIMIT ${capped}
      )
      SELECT p.*, n.candidates
      FROM (SELECT count(*)::int AS candidates FROM c) n
      LEFT JOIN LATERAL (SELECT * FROM c ${keyset} ORDER BY ${ORDER} LIMIT ${params.add(limit)}) p ON true
      ORDER BY ${ORDER}`
    return on(reader, "bitmap")<RankedSymbolRow & { readonly candidates: number }>(text, params.values).pipe(
      Effect.map((rows) => ({
        candidates: rows[0]?.candidates ?? 0,
        rows: rows.filter((row) => row.path !== null) as ReadonlyArray<RankedSymbolRow>
      }))
    )
  },

  /**
   * One of symbol search's index reads (see SymbolGroup), a page from where the cursor leaves it: for each
   * repository a range of the name-order index read in its order, keys from the index alone, then the page's
   * rows; merged. `named` and `all` stop after a page of matches; `contains` tests every name on the way (used
   * when its matches are many, so a page is near).
   */
  symbolGroup: (
    reader: NavigationReader,
    repositoryIds: ReadonlyArray<string>,
    group: SymbolGroup,
    q: string,
    filter: SymbolFilter,
    after: SymbolKey | null,
    limit: number
  ) => {
    const params = new Params()
    let condition = ""
    let rank = "0"
    if (group !== "all") {
      const lowered = `lower(${params.add(q)})`
      if (group === "named") {
        // Equal names sort before every longer one starting with them: exact then prefix is one range.
        condition = ` AND ${LNAME} >= ${lowered} AND ${LNAME} < ${lowered} || ${MAX_CHAR}`
        rank = `CASE WHEN k.lname = ${lowered} THEN 0 ELSE 1 END`
      } else {
        condition = ` AND lower(name) LIKE lower(${
          params.add(containsPattern(q))
        }) AND NOT starts_with(lower(name), ${lowered})`
        rank = "3"
      }
    }
    const where = filterSql(filter, params)
    const n = params.add(limit)
    const bounds = after === null ? null : keyParams(after, params)
    const reads = repositoryIds.map((repositoryId) => {
      let from = ""
      if (bounds !== null) {
        from = repositoryId < after!.repositoryId
          ? ` AND ${LNAME} > ${bounds.lname}`
          : repositoryId === after!.repositoryId
          ? ` AND (${LNAME}, path, ordinal) > (${bounds.lname}, ${bounds.path}, ${bounds.ordinal})`
          : ` AND ${LNAME} >= ${bounds.lname}`
      }
      return `(SELECT ${SYMBOLS_AS_S}, k.lname, ${rank} AS rank FROM (
          SELECT repository_id, path, ordinal, ${LNAME} AS lname FROM code_symbols
          WHERE repository_id = ${params.add(repositoryId)}::uuid${condition}${from}${where}
          ORDER BY ${LNAME}, path, ordinal LIMIT ${n}
        ) k JOIN code_symbols s USING (repository_id, path, ordinal))`
    })
    const text = `SELECT * FROM (${reads.join(" UNION ALL ")}) u ORDER BY ${ORDER} LIMIT ${n}`
    return on(reader, "inOrder")<RankedSymbolRow>(text, params.values)
  },

  /**
   * Definitions named exactly `name` in one repository: those in `path` first (0), then in files it imports (1),
   * then the rest (2). Each rank is read in (path, ordinal) order from the name index and stops at the page's
   * size, so a page costs its size and not the name's count.
   */
  definitions: (
    reader: NavigationReader,
    repositoryId: string,
    name: string,
    path: string | null,
    after: { readonly rank: number; readonly path: string; readonly ordinal: number } | null,
    limit: number
  ) => {
    const rank = (k: number, where: string) =>
      `(SELECT ${SYMBOL_COLUMNS}, ${k} AS rank FROM code_symbols
        WHERE repository_id = $1 AND ${nameIs("$2")} AND ${where} AND $4::int <= ${k}
          AND (path, ordinal) > (CASE WHEN $4::int = ${k} THEN $5::text ELSE '' END,
                                 CASE WHEN $4::int = ${k} THEN $6::int ELSE -1 END)
        ORDER BY path, ordinal LIMIT $7)`
    return on(reader, "ordered")<SymbolRow & { readonly rank: number }>(
      `WITH imported AS MATERIALIZED (
         SELECT DISTINCT resolved_path AS path FROM code_imports
         WHERE repository_id = $1 AND path = $3::text AND resolved_path IS NOT NULL AND resolved_path <> $3::text
       )
       ${rank(0, "path = $3::text")}
       UNION ALL ${rank(1, "path IN (SELECT path FROM imported)")}
       UNION ALL ${rank(2, "path IS DISTINCT FROM $3::text AND path NOT IN (SELECT path FROM imported)")}
       ORDER BY rank, path, ordinal LIMIT $7`,
      [repositoryId, name, path, after?.rank ?? -1, after?.path ?? "", after?.ordinal ?? -1, limit]
    )
  },

  /**
   * References named exactly `name`, in (path, ordinal) order: the name's rows read in path order from the key,
   * stopping once the page is full (a file's references sorted on their own), so a page costs its size and
   * not the name's count. With a kind, a file without it is passed over before its references are unnested
   * (a kind the name rarely has still reads the name's rows).
   */
  references: (
    reader: NavigationReader,
    repositoryId: string,
    name: string,
    kind: ReferenceKind | null,
    after: { readonly path: string; readonly ordinal: number } | null,
    limit: number
  ) =>
    on(reader, "ordered")<ReferenceRow>(
      `SELECT r.repository_id, r.path, u.ordinal, r.name, ${kindOf("u.code")} AS kind, u.line, u.col, u.enclosing
       FROM code_references r
         CROSS JOIN LATERAL unnest(r.ordinals, r.kinds, r.lines, r.cols, r.enclosings)
           AS u (ordinal, code, line, col, enclosing)
       WHERE r.repository_id = $1 AND r.name = $2 AND r.path >= $4
         AND ($3::"char" IS NULL OR $3::"char" = ANY(r.kinds))
         AND (r.path, u.ordinal) > ($4::text, $5::int) AND ($3::"char" IS NULL OR u.code = $3::"char")
       ORDER BY r.path, u.ordinal LIMIT $6`,
      [
        repositoryId,
        name,
        kind === null ? null : REFERENCE_KIND_CODES[kind],
        after?.path ?? "",
        after?.ordinal ?? -1,
        limit
      ]
    ),

  /**
   * Calls of `name` grouped by (repository, file, enclosing definition), in that order; at most 100 calls listed
   * per group. A file's calls of a name are one row, so each row is grouped on its own (a file without a call of
   * it passed over first); per repository the rows are read in path order until the page is full, so a page
   * costs its size times the repositories, not the name's count.
   */
  callers: (
    reader: NavigationReader,
    repositoryIds: ReadonlyArray<string>,
    name: string,
    after: { readonly repositoryId: string; readonly path: string; readonly enclosing: string } | null,
    limit: number
  ) =>
    on(reader, "ordered")<CallerRow>(
      `SELECT g.repository_id, g.path, g.enclosing, g.call_count, g.lines, g.cols
       FROM (SELECT id, CASE WHEN id = $3::uuid THEN $4::text ELSE '' END AS from_path
             FROM unnest($1::uuid[]) AS id WHERE id >= $3::uuid) AS ids
       CROSS JOIN LATERAL (
         SELECT r.repository_id, r.path, c.enclosing, c.call_count, c.lines, c.cols
         FROM code_references r
         CROSS JOIN LATERAL (
           SELECT u.enclosing, count(*)::int AS call_count,
             (array_agg(u.line ORDER BY u.line, u.col))[1:100] AS lines,
             (array_agg(u.col ORDER BY u.line, u.col))[1:100] AS cols
           FROM unnest(r.kinds, r.lines, r.cols, r.enclosings) AS u (code, line, col, enclosing)
           WHERE u.code = ${CALL}
           GROUP BY u.enclosing
         ) AS c
         WHERE r.repository_id = ids.id AND r.name = $2 AND r.path >= ids.from_path AND ${CALL} = ANY(r.kinds)
           AND (r.repository_id, r.path, coalesce(c.enclosing, '')) > ($3::uuid, $4::text, $5::text)
         ORDER BY r.path, coalesce(c.enclosing, '') LIMIT $6
       ) AS g
       ORDER BY g.repository_id, g.path, coalesce(g.enclosing, '') LIMIT $6`,
      [
        repositoryIds,
        name,
        after?.repositoryId ?? "00000000-0000-0000-0000-000000000000",
        after?.path ?? "",
        after?.enclosing ?? "",
        limit
      ]
    ),

  /** Definitions with these names in these files (callers' enclosing definitions). */
  definitionsIn: (
    reader: NavigationReader,
    repositoryIds: ReadonlyArray<string>,
    names: ReadonlyArray<string>,
    paths: ReadonlyArray<string>
  ) =>
    on(reader, "ordered")<SymbolRow>(
      `SELECT ${SYMBOL_COLUMNS} FROM code_symbols
       WHERE repository_id = ANY($1::uuid[]) AND ${nameIn("$2")} AND path = ANY($3::text[])
       ORDER BY repository_id, path, ordinal`,
      [repositoryIds, names, paths]
    ),

  /** The symbols of one file in extraction order, at most `limit`. */
  symbolsOf: (reader: NavigationReader, repositoryId: string, path: string, limit: number) =>
    on(reader, "ordered")<SymbolRow>(
      `SELECT ${SYMBOL_COLUMNS} FROM code_symbols WHERE repository_id = $1 AND path = $2 ORDER BY ordinal LIMIT $3`,
      [repositoryId, path, limit]
    ),

  /** The symbols of the file at `path` in each of these repositories that has it, in source order. */
  symbolsAt: (reader: NavigationReader, repositoryIds: ReadonlyArray<string>, path: string, limit: number) =>
    on(reader, "ordered")<SymbolRow>(
      `SELECT ${SYMBOL_COLUMNS} FROM code_symbols WHERE repository_id = ANY($1::uuid[]) AND path = $2
       ORDER BY repository_id, ordinal LIMIT $3`,
      [repositoryIds, path, limit]
    ),

  /** Which of these repositories hold an indexed file at `path`. */
  holding: (reader: NavigationReader, repositoryIds: ReadonlyArray<string>, path: string) =>
    on(reader, "ordered")<{ repository_id: string }>(
      "SELECT repository_id FROM indexed_files WHERE repository_id = ANY($1::uuid[]) AND path = $2",
      [repositoryIds, path]
    ),

  file: (reader: NavigationReader, repositoryId: string, path: string) =>
    on(reader, "ordered")<FileRow>(
      "SELECT language, size_bytes, line_count FROM indexed_files WHERE repository_id = $1 AND path = $2",
      [repositoryId, path]
    ).pipe(Effect.map((rows) => rows[0])),

  /** The number of the chunk holding `line`. */
  chunkOfLine: (reader: NavigationReader, repositoryId: string, path: string, line: number) =>
    on(reader, "ordered")<{ chunk_no: number | null }>(
      `SELECT max(chunk_no) AS chunk_no FROM indexed_chunks
       WHERE repository_id = $1 AND path = $2 AND start_line <= $3`,
      [repositoryId, path, line]
    ).pipe(Effect.map((rows) => rows[0]?.chunk_no ?? 0)),

  /** The file's chunks from `fromChunk` on, in order, at most `limit`. */
  chunks: (reader: NavigationReader, repositoryId: string, path: string, fromChunk: number, limit: number) =>
    on(reader, "ordered")<{ chunk_no: number; start_line: number; content: string }>(
      `SELECT chunk_no, start_line, content FROM indexed_chunks
       WHERE repository_id = $1 AND path = $2 AND chunk_no >= $3 ORDER BY chunk_no LIMIT $4`,
      [repositoryId, path, fromChunk, limit]
    ),

  /** Import edges out of these files (the files they import), at most `limit`. */
  importsOf: (reader: NavigationReader, repositoryId: string, paths: ReadonlyArray<string>, limit: number) =>
    on(reader, "ordered")<Edge>(
      `SELECT DISTINCT path, resolved_path FROM code_imports
       WHERE repository_id = $1 AND path = ANY($2::text[]) AND resolved_path IS NOT NULL
       ORDER BY path, resolved_path LIMIT $3`,
      [repositoryId, paths, limit]
    ),

  /** Import edges into these files (the files importing them), at most `limit`. */
  importersOf: (reader: NavigationReader, repositoryId: string, paths: ReadonlyArray<string>, limit: number) =>
    on(reader, "ordered")<Edge>(
      `SELECT DISTINCT path, resolved_path FROM code_imports
       WHERE repository_id = $1 AND resolved_path = ANY($2::text[]) ORDER BY path, resolved_path LIMIT $3`,
      [repositoryId, paths, limit]
    ),

  /** A file's imports that resolve to no file of the repository. */
  unresolvedImports: (reader: NavigationReader, repositoryId: string, path: string, limit: number) =>
    on(reader, "ordered")<{ module: string; line: number }>(
      `SELECT module, line FROM code_imports
       WHERE repository_id = $1 AND path = $2 AND resolved_path IS NULL ORDER BY ordinal LIMIT $3`,
      [repositoryId, path, limit]
    ),

  /** Names defined in these files that a call can name, at most `limit`. */
  callableNamesIn: (reader: NavigationReader, repositoryId: string, paths: ReadonlyArray<string>, limit: number) =>
    on(reader, "ordered")<{ name: string }>(
      `SELECT DISTINCT name FROM code_symbols
       WHERE repository_id = $1 AND path = ANY($2::text[])
         AND kind IN ('function', 'method', 'class', 'constructor', 'macro', 'constant', 'variable')
       LIMIT $3`,
      [repositoryId, paths, limit]
    ).pipe(Effect.map((rows) => rows.map((row) => row.name))),

  /**
   * The files with references to these names (calls only, or any kind), at most `limit` references read (in
   * name then path order).
   */
  referencingFiles: (
    reader: NavigationReader,
    repositoryId: string,
    names: ReadonlyArray<string>,
    callsOnly: boolean,
    limit: number
  ) =>
    on(reader, "ordered")<{ path: string; name: string; n: number; read: number }>(
      `SELECT path, name, count(*)::int AS n, sum(count(*)) OVER ()::int AS read FROM (
         SELECT r.path, r.name FROM code_references r, unnest(r.kinds) AS u (code)
         WHERE r.repository_id = $1 AND r.name = ANY($2::text[]) AND ($3::boolean IS FALSE OR u.code = ${CALL})
         LIMIT $4
       ) r GROUP BY path, name ORDER BY path, name`,
      [repositoryId, names, callsOnly, limit]
    ),

  /** The files defining `name`. */
  filesDefining: (reader: NavigationReader, repositoryId: string, name: string, limit: number) =>
    on(reader, "ordered")<{ path: string }>(
      `SELECT DISTINCT path FROM code_symbols WHERE repository_id = $1 AND ${nameIs("$2")} ORDER BY path LIMIT $3`,
      [repositoryId, name, limit]
    ).pipe(Effect.map((rows) => rows.map((row) => row.path))),

  /** Files per language over at most `cap` files of these repositories. */
  languages: (reader: NavigationReader, repositoryIds: ReadonlyArray<string>, cap: number) =>
    on(reader, "ordered")<{ language: string | null; files: number; lines: number; bytes: number }>(
      `SELECT language, count(*)::int AS files, coalesce(sum(line_count), 0)::float8 AS lines,
         coalesce(sum(size_bytes), 0)::float8 AS bytes
       FROM (SELECT language, line_count, size_bytes FROM indexed_files
             WHERE repository_id = ANY($1::uuid[]) LIMIT $2) f
       GROUP BY language ORDER BY files DESC, language`,
      [repositoryIds, cap]
    ),

  /** Symbols per kind over at most `cap` symbols of these repositories. */
  symbolKinds: (reader: NavigationReader, repositoryIds: ReadonlyArray<string>, cap: number) =>
    on(reader, "ordered")<{ kind: string; count: number }>(
      `SELECT kind, count(*)::int AS count
       FROM (SELECT kind FROM code_symbols WHERE repository_id = ANY($1::uuid[]) LIMIT $2) s
       GROUP BY kind ORDER BY count DESC, kind`,
      [repositoryIds, cap]
    ),

  /**
   * The most frequent names among the first `cap` references in (repository, name) order (every reference of
   * repositories that have fewer), from at most `cap` entries (a file and name each, with its count of
   * references) of the name index alone; the last one's references count up to `cap`. `read` is how many
   * references were counted.
   */
  referenceCounts: (reader: NavigationReader, repositoryIds: ReadonlyArray<string>, cap: number, top: number) =>
    on(reader, "ordered")<{ name: string; n: number; read: number }>(
      `SELECT name, n, read FROM (
         SELECT name, sum(refs)::int AS n, sum(sum(refs)) OVER ()::int AS read FROM (
           SELECT name, least(refs, $2::int - (upto - refs)) AS refs FROM (
             SELECT name, refs, sum(refs) OVER (ORDER BY repository_id, name, path ROWS UNBOUNDED PRECEDING) AS upto
             FROM (SELECT repository_id, name, path, refs FROM code_references
                   WHERE repository_id = ANY($1::uuid[]) ORDER BY repository_id, name, path LIMIT $2) r
           ) w WHERE upto - refs < $2::int
         ) c GROUP BY name
       ) g ORDER BY n DESC, name LIMIT $3`,
      [repositoryIds, cap, top]
    ),

  /** For each of these names defined in these repositories: one definition and how many there are. */
  definedNames: (reader: NavigationReader, repositoryIds: ReadonlyArray<string>, names: ReadonlyArray<string>) =>
    on(reader, "ordered")<
      { name: string; kind: string; repository_id: string; path: string; line: number; definitions: number }
    >(
      `SELECT DISTINCT ON (name) name, kind, repository_id, path, line,
         count(*) OVER (PARTITION BY name)::int AS definitions
       FROM code_symbols WHERE repository_id = ANY($1::uuid[]) AND ${nameIn("$2")}
       ORDER BY name, repository_id, path, ordinal`,
      [repositoryIds, names]
    ),

  /**
   * Code search's `sym:` (SPEC 9): the files after `afterPath` (or from it, `inclusive`) that define every one
   * of `names` (case-insensitively unless `caseSensitive`), in path order, at most `limit`. Reads every
   * definition with those names in the repository.
   */
  filesDefiningAll: (
    reader: NavigationReader,
    repositoryId: string,
    names: ReadonlyArray<string>,
    caseSensitive: boolean,
    filter: Pick<ChunkFilter, "paths" | "languages">,
    afterPath: string,
    inclusive: boolean,
    limit: number
  ) => {
    const params = new Params()
    const repository = params.add(repositoryId)
    const wanted = params.add(names)
    const key = caseSensitive ? "name" : "lower(name)"
    const match = caseSensitive
      ? nameIn(wanted)
      : `${LNAME} = ANY(ARRAY(SELECT lower(n) FROM unnest(${wanted}::text[]) AS n))`
    const text = `
      SELECT path, min(language) AS language FROM code_symbols
      WHERE repository_id = ${repository} AND ${match} AND path ${inclusive ? ">=" : ">"} ${params.add(afterPath)}${
      fileFilterSql(filter, params)
    }
      GROUP BY path
      HAVING count(DISTINCT ${key}) = (SELECT count(DISTINCT ${caseSensitive ? "n" : "lower(n)"})
                                      FROM unnest(${wanted}::text[]) AS n)
      ORDER BY path LIMIT ${params.add(limit)}`
    return on(reader, "ordered")<{ path: string; language: string }>(text, params.values)
  },

  /** The definitions of `names` (as `filesDefiningAll` matches them) in these files, by path and position. */
  definitionsNamed: (
    reader: NavigationReader,
    repositoryId: string,
    names: ReadonlyArray<string>,
    caseSensitive: boolean,
    paths: ReadonlyArray<string>
  ) =>
    on(reader, "ordered")<{ path: string; name: string; line: number; col: number }>(
      `SELECT path, name, line, col FROM code_symbols
       WHERE repository_id = $1 AND path = ANY($3::text[]) AND ${
        caseSensitive
          ? "name = ANY($2::text[])"
          : "lower(name) = ANY(ARRAY(SELECT lower(n) FROM unnest($2::text[]) AS n))"
      }
       ORDER BY path, line, col`,
      [repositoryId, names, paths]
    )
}
