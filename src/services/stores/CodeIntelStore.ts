import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import type { ExtractedImport, ExtractedReference, ExtractedSymbol, ReferenceKind } from "../../symbols/Extraction.js"

/** What extraction found in one file, its imports already resolved against the commit's files. */
export interface FileIntel {
  readonly path: string
  readonly language: string
  readonly symbols: ReadonlyArray<ExtractedSymbol>
  readonly references: ReadonlyArray<ExtractedReference>
  readonly imports: ReadonlyArray<ImportRow>
}

/** One import statement and where it resolves: `resolved` empty when not inside the repository. */
export interface ImportRow extends ExtractedImport {
  readonly path: string
  readonly ordinal: number
  readonly language: string
  readonly moduleStem: string
  readonly resolved: ReadonlyArray<string>
}

// Rows per INSERT: bounded parameters and memory, still few round trips.
const WRITE_BATCH = 5_000

const batches = <A>(rows: ReadonlyArray<A>): Array<ReadonlyArray<A>> =>
  Array.from(
    { length: Math.ceil(rows.length / WRITE_BATCH) },
    (_, i) => rows.slice(i * WRITE_BATCH, (i + 1) * WRITE_BATCH)
  )

/**
 * The statements' parameter arrays, filled straight from each file's rows, WRITE_BATCH rows at a time. Not a
 * row object per symbol first: those copies outlive the next chunk's parse (the rows are written beside it),
 * so they are promoted to the old space and were most of what filled it during an index (bench/README.md,
 * index section, "Streaming in chunks").
 */
const columnBatches = <A, C extends Record<string, Array<unknown>>>(
  files: ReadonlyArray<FileIntel>,
  rowsOf: (file: FileIntel) => ReadonlyArray<A>,
  empty: () => C,
  add: (columns: C, file: FileIntel, row: A, ordinal: number) => void
): Array<C> => {
  const out: Array<C> = []
  let current = empty()
  let size = 0
  for (const file of files) {
    rowsOf(file).forEach((row, ordinal) => {
      if (size === WRITE_BATCH) {
        out.push(current)
        current = empty()
        size = 0
      }
      add(current, file, row, ordinal)
      size++
    })
  }
  if (size > 0) out.push(current)
  return out
}

const symbolColumns = (files: ReadonlyArray<FileIntel>) =>
  columnBatches(files, (f) => f.symbols, () => ({
    path: [] as Array<string>,
    ordinal: [] as Array<number>,
    name: [] as Array<string>,
    kind: [] as Array<string>,
    language: [] as Array<string>,
    line: [] as Array<number>,
    column: [] as Array<number>,
    endLine: [] as Array<number>,
    endColumn: [] as Array<number>,
    container: [] as Array<string | null>,
    signature: [] as Array<string>
  }), (c, f, s: ExtractedSymbol, ordinal) => {
    c.path.push(f.path)
    c.ordinal.push(ordinal)
    c.name.push(s.name)
    c.kind.push(s.kind)
    c.language.push(f.language)
    c.line.push(s.line)
    c.column.push(s.column)
    c.endLine.push(s.endLine)
    c.endColumn.push(s.endColumn)
    c.container.push(s.container)
    c.signature.push(s.signature)
  })

/**
 * The one-byte code of each reference kind in `code_references.kinds` ("char"[], migration 0027);
 * NavigationStore decodes with the same table.
 */
export const REFERENCE_KIND_CODES: Readonly<Record<ReferenceKind, string>> = {
  call: "c",
  type: "t",
  inherit: "e",
  import: "i",
  other: "o"
}

const intArray = (values: ReadonlyArray<number>) => `{${values.join(",")}}`
const textArray = (values: ReadonlyArray<string | null>) =>
  `{${values.map((v) => v === null ? "NULL" : `"${v.replace(/["\\]/g, "\\$&")}"`).join(",")}}`

/**
 * `code_references` rows (one per file and name, its references in extraction order) as parameter arrays,
 * each group's arrays as one array literal: grouping here costs the database less than grouping in the
 * statement with array_agg over flat arrays (bench/README.md, index section). About WRITE_BATCH
 * references a statement; a group is never split, so a statement holds at most one group more.
 */
const referenceColumns = (files: ReadonlyArray<FileIntel>) => {
  const empty = () => ({
    path: [] as Array<string>,
    name: [] as Array<string>,
    ordinals: [] as Array<string>,
    kinds: [] as Array<string>,
    lines: [] as Array<string>,
    columns: [] as Array<string>,
    enclosings: [] as Array<string>
  })
  const out: Array<ReturnType<typeof empty>> = []
  let current = empty()
  let size = 0
  for (const file of files) {
    const groups = new Map<string, Array<number>>()
    file.references.forEach((reference, ordinal) => {
      const group = groups.get(reference.name)
      if (group === undefined) groups.set(reference.name, [ordinal])
      else group.push(ordinal)
    })
    for (const [name, ordinals] of groups) {
      if (size >= WRITE_BATCH) {
        out.push(current)
        current = empty()
        size = 0
      }
      const references = ordinals.map((ordinal) => file.references[ordinal]!)
      current.path.push(file.path)
      current.name.push(name)
      current.ordinals.push(intArray(ordinals))
      current.kinds.push(references.map((r) => REFERENCE_KIND_CODES[r.kind]).join(""))
      current.lines.push(intArray(references.map((r) => r.line)))
      current.columns.push(intArray(references.map((r) => r.column)))
      current.enclosings.push(textArray(references.map((r) => r.enclosing)))
      size += ordinals.length
    }
  }
  if (size > 0) out.push(current)
  return out
}

/**
 * Owns `code_symbols`, `code_references` and `code_imports` and writes them for the indexer; the routes read
 * them through NavigationStore, on the search pool.
 */
export class CodeIntelStore extends Effect.Service<CodeIntelStore>()("services/stores/CodeIntelStore", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    // One statement for the three tables: the indexer's writes run one after the other on the transaction's
    // connection, so each round trip is time the writer spends waiting.
    const remove = (repositoryId: string, paths: ReadonlyArray<string>) =>
      paths.length === 0 ? Effect.void : sql`
        WITH symbols AS (
          DELETE FROM code_symbols WHERE repository_id = ${repositoryId} AND path = ANY(${paths}::text[])
        ), refs AS (
          DELETE FROM code_references WHERE repository_id = ${repositoryId} AND path = ANY(${paths}::text[])
        )
        DELETE FROM code_imports WHERE repository_id = ${repositoryId} AND path = ANY(${paths}::text[])`.pipe(
        Effect.asVoid
      )

    const insertImports = (repositoryId: string, imports: ReadonlyArray<ImportRow>) => {
      const rows = imports.flatMap((i) =>
        (i.resolved.length === 0 ? [null] : i.resolved).map((resolved) => ({ ...i, resolvedPath: resolved }))
      )
      return Effect.forEach(batches(rows), (batch) =>
        sql`
          INSERT INTO code_imports (repository_id, path, ordinal, module, module_stem, language, line, resolved_path)
          SELECT ${repositoryId}, * FROM unnest(
            ${batch.map((r) => r.path)}::text[], ${batch.map((r) => r.ordinal)}::int[],
            ${batch.map((r) => r.module)}::text[], ${batch.map((r) => r.moduleStem)}::text[],
            ${batch.map((r) => r.language)}::text[], ${batch.map((r) => r.line)}::int[],
            ${batch.map((r) => r.resolvedPath)}::text[])`, { discard: true })
    }

    /**
     * Replaces the rows of `paths` (every file written, with or without symbols) by `files`' rows; `paths`
     * empty when none of them can have rows (a repository's first index).
     */
    const replace = (repositoryId: string, paths: ReadonlyArray<string>, files: ReadonlyArray<FileIntel>) =>
      Effect.gen(function*() {
        yield* remove(repositoryId, paths)
        const symbols = symbolColumns(files)
        yield* Effect.forEach(symbols, (c) =>
          sql`
            INSERT INTO code_symbols
              (repository_id, path, ordinal, name, kind, language, line, col, end_line, end_col, container, signature)
            SELECT ${repositoryId}, * FROM unnest(
              ${c.path}::text[], ${c.ordinal}::int[], ${c.name}::text[], ${c.kind}::text[], ${c.language}::text[],
              ${c.line}::int[], ${c.column}::int[], ${c.endLine}::int[], ${c.endColumn}::int[],
              ${c.container}::text[], ${c.signature}::text[])`, { discard: true })
        // Symbol searches that probe the name trigram index read its pending list whole, whoever wrote it:
        // merge what this write left there, as IndexedFileStore does for the content index.
        if (symbols.length > 0) {
          yield* sql`SELECT gin_clean_pending_list(to_regclass('public.code_symbols_name_trgm_idx'))`
        }
        yield* Effect.forEach(referenceColumns(files), (c) =>
          sql`
            INSERT INTO code_references (repository_id, path, name, ordinals, kinds, lines, cols, enclosings)
            SELECT ${repositoryId}, path, name, ordinals::int[], string_to_array(kinds, NULL)::"char"[],
              lines::int[], cols::int[], enclosings::text[]
            FROM unnest(${c.path}::text[], ${c.name}::text[], ${c.ordinals}::text[], ${c.kinds}::text[],
              ${c.lines}::text[], ${c.columns}::text[], ${c.enclosings}::text[])
              AS g (path, name, ordinals, kinds, lines, cols, enclosings)`, { discard: true })
        yield* insertImports(repositoryId, files.flatMap((f) => f.imports))
      })

    /**
     * Imports of unchanged files whose resolution a change may have moved: every one (`all`), or those not
     * resolved whose stem is in `stems` and those resolved to one of `targets`.
     */
    const importsToResolve = (
      repositoryId: string,
      scope: { readonly all: boolean; readonly stems: ReadonlyArray<string>; readonly targets: ReadonlyArray<string> }
    ) => (scope.all
      ? sql<ImportKey>`
          SELECT DISTINCT path, ordinal, module, module_stem, language, line
          FROM code_imports WHERE repository_id = ${repositoryId}`
      : scope.stems.length === 0 && scope.targets.length === 0
      ? Effect.succeed<ReadonlyArray<ImportKey>>([]) as Effect.Effect<ReadonlyArray<ImportKey>, SqlError>
      : sql<ImportKey>`
          SELECT DISTINCT path, ordinal, module, module_stem, language, line
          FROM code_imports
          WHERE repository_id = ${repositoryId} AND resolved_path IS NULL AND module_stem = ANY(${scope.stems}::text[])
          UNION
          SELECT DISTINCT path, ordinal, module, module_stem, language, line
          FROM code_imports
          WHERE repository_id = ${repositoryId} AND resolved_path = ANY(${scope.targets}::text[])`)

    /** Rewrites the rows of these imports (by path and ordinal) with their new resolution. */
    const reresolve = (repositoryId: string, imports: ReadonlyArray<ImportRow>) =>
      imports.length === 0 ? Effect.void : Effect.gen(function*() {
        yield* Effect.forEach(batches(imports), (batch) =>
          sql`
            DELETE FROM code_imports c
            USING unnest(${batch.map((i) => i.path)}::text[], ${
            batch.map((i) => i.ordinal)
          }::int[]) AS k (path, ordinal)
            WHERE c.repository_id = ${repositoryId} AND c.path = k.path AND c.ordinal = k.ordinal`, { discard: true })
        yield* insertImports(repositoryId, imports)
      })

    const span = <A, E, R>(name: string) => (effect: Effect.Effect<A, E, R>) =>
      effect.pipe(Effect.orDie, Effect.withSpan(`CodeIntelStore.${name}`))

    return {
      replace: (repositoryId: string, paths: ReadonlyArray<string>, files: ReadonlyArray<FileIntel>) =>
        replace(repositoryId, paths, files).pipe(span("replace")),
      remove: (repositoryId: string, paths: ReadonlyArray<string>) => remove(repositoryId, paths).pipe(span("remove")),
      importsToResolve: (repositoryId: string, scope: Parameters<typeof importsToResolve>[1]) =>
        importsToResolve(repositoryId, scope).pipe(span("importsToResolve")),
      reresolve: (repositoryId: string, imports: ReadonlyArray<ImportRow>) =>
        reresolve(repositoryId, imports).pipe(span("reresolve"))
    } as const
  })
}) {}

/** An import as stored, without its resolution. Result names are camelCased by the client. */
export interface ImportKey {
  readonly path: string
  readonly ordinal: number
  readonly module: string
  readonly moduleStem: string
  readonly language: string
  readonly line: number
}
