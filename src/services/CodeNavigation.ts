import { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import type {
  Caller as CallerSchema,
  CallerDefinition,
  Definition,
  ImpactedFile,
  OutlineNode,
  Reference,
  ReferenceKind,
  SymbolKind,
  SymbolLocation
} from "../domain/Navigation.js"
import { FileNotFound, LineRangeOutsideFile } from "../domain/Navigation.js"
import type { RepositoryId } from "../domain/Repository.js"
import { RepositoryNotFound } from "../domain/Repository.js"
import { InvalidQuery, SearchUnavailable } from "../domain/Search.js"
import { languageNamed } from "../domain/SearchQuery.js"
import { decodeOptional, makeCursor } from "./navigation/Cursor.js"
import { compare } from "./navigation/Cycles.js"
import { MAX_GRAPH_FILES, walkDependencies } from "./navigation/DependencyWalk.js"
import { readLines } from "./navigation/FileLines.js"
import type { Reached } from "./navigation/ImpactWalk.js"
import { MAX_STEP_CALLS, reacher, walkImpact } from "./navigation/ImpactWalk.js"
import { outlineTree } from "./navigation/OutlineTree.js"
import { findSymbols } from "./navigation/SymbolSearch.js"
import { SearchAdmission } from "./SearchAdmission.js"
import type { Access, RankedSymbolRow, SymbolKey, SymbolRow } from "./stores/NavigationStore.js"
import { NavigationStore } from "./stores/NavigationStore.js"
import type { NavigationReader } from "./stores/NavigationStore.js"
import { SearchDatabase } from "./stores/SearchDatabase.js"

const MAX_OUTLINE_SYMBOLS = 5000
const MAX_IMPACT_FILES = 1000
/** What one overview reads at most per count: a larger repository gets lower bounds (`counts_exact: false`). */
export const OVERVIEW_CAP = 1_000_000
const OVERVIEW_NAMES = 200

const resolution = "name-match" as const

const symbolCursor = makeCursor("symbols", ["int", "string", "uuid", "string", "int"] as const)
const definitionCursor = makeCursor("definitions", ["int", "string", "int"] as const)
const referenceCursor = makeCursor("references", ["string", "int"] as const)
const callerCursor = makeCursor("callers", ["uuid", "string", "string"] as const)

const location = (row: SymbolRow): SymbolLocation => ({
  repository_id: row.repository_id as RepositoryId,
  path: row.path,
  language: row.language,
  name: row.name,
  kind: row.kind,
  line: row.line,
  column: row.col,
  end_line: row.end_line,
  end_column: row.end_col,
  container: row.container,
  signature: row.signature
})

const keyOf = (row: RankedSymbolRow): SymbolKey => ({
  rank: row.rank,
  lname: row.lname,
  repositoryId: row.repository_id,
  path: row.path,
  ordinal: row.ordinal
})

/** A page of `limit` from `limit + 1` rows, and the cursor after it when there are more. */
const page = <A>(rows: ReadonlyArray<A>, limit: number, cursorOf: (last: A) => string) => {
  const items = rows.slice(0, limit)
  return { items, next: rows.length > limit ? cursorOf(items[items.length - 1]!) : null }
}

const viaOrder = ["definition", "reference", "import", "call"] as const

const impactedFiles = (repositoryId: string, reached: ReadonlyMap<string, Reached>): Array<typeof ImpactedFile.Type> =>
  [...reached]
    .map(([path, r]) => ({
      repository_id: repositoryId as RepositoryId,
      path,
      depth: r.depth,
      via: viaOrder.filter((via) => r.via.has(via)),
      names: [...r.names].sort()
    }))
    .sort((a, b) => a.depth - b.depth || compare(a.path, b.path))

export interface SymbolSearchRequest {
  /** Absent or `*`: every definition in name order. */
  readonly q: string | undefined
  readonly kind: SymbolKind | undefined
  readonly lang: string | undefined
  readonly repositoryId: RepositoryId | undefined
  readonly limit: number | undefined
  readonly cursor: string | undefined
}

/**
 * Code navigation (SPEC 10) over what the indexer extracted: symbol search, files, outlines, definitions,
 * references, callers, the import graph, impact and an overview, all within the caller's repositories and by
 * name only (`resolution: "name-match"`). Runs on the search pool, each request in one read-only snapshot,
 * within the per-user bound on requests in flight that it shares with code search.
 */
export class CodeNavigation extends Effect.Service<CodeNavigation>()("services/CodeNavigation", {
  effect: Effect.gen(function*() {
    const database = yield* SearchDatabase
    const admission = yield* SearchAdmission

    /** One request: admitted, on one search-pool connection, in one read-only transaction, with its span. */
    const session = <A, E>(
      userId: string,
      method: string,
      use: (reader: NavigationReader) => Effect.Effect<A, E>,
      plan: Access = "ordered"
    ) =>
      admission.admitted(
        userId,
        database.withConnection((run) =>
          NavigationStore.begin(run, plan).pipe(
            Effect.flatMap((reader) => Effect.zipLeft(use(reader), NavigationStore.commit(reader)))
          )
        )
      ).pipe(
        Effect.catchIf((error): error is SqlError => error instanceof SqlError, (error) => {
          const code = (error.cause as { code?: unknown } | undefined)?.code
          return Effect.fail(
            new SearchUnavailable({
              message: code === "57014" ? "the request took too long" : "navigation is unavailable; retry shortly"
            })
          )
        }),
        Effect.withSpan(`CodeNavigation.${method}`)
      )

    const repository = (reader: NavigationReader, userId: string, repositoryId: string) =>
      Effect.flatMap(
        NavigationStore.repository(reader, repositoryId, userId),
        (found) =>
          found === undefined
            ? Effect.fail(new RepositoryNotFound({ message: `no repository ${repositoryId}` }))
            : Effect.succeed(found)
      )

    /** The caller's repositories, or the one asked for (404 when it is not theirs). */
    const scope = (reader: NavigationReader, userId: string, repositoryId: string | undefined) =>
      repositoryId === undefined
        ? NavigationStore.repositories(reader, userId)
        : Effect.map(repository(reader, userId, repositoryId), (found) => [found])

    const indexedFile = (reader: NavigationReader, repositoryId: string, path: string) =>
      Effect.flatMap(
        NavigationStore.file(reader, repositoryId, path),
        (file) =>
          file === undefined
            ? Effect.fail(new FileNotFound({ message: `no indexed file ${path.slice(0, 100)}` }))
            : Effect.succeed(file)
      )

    const searchSymbols = (userId: string, request: SymbolSearchRequest) =>
      Effect.gen(function*() {
        const after = yield* decodeOptional(symbolCursor, request.cursor)
        const limit = request.limit ?? 20
        const q = request.q ?? "*"
        const filter = {
          kind: request.kind,
          language: request.lang === undefined ? undefined : languageNamed(request.lang)
        }
        const key: SymbolKey | null = after === null
          ? null
          : {
            rank: after[0],
            lname: after[1],
            repositoryId: after[2],
            path: after[3],
            ordinal: after[4]
          }
        return yield* session(userId, "searchSymbols", (reader) =>
          Effect.gen(function*() {
            const ids = (yield* scope(reader, userId, request.repositoryId)).map((r) => r.id)
            const found = yield* findSymbols(reader, ids, q, filter, key, limit + 1)
            const { items, next } = page(found, limit, (last) => {
              const k = keyOf(last)
              return symbolCursor.encode([k.rank, k.lname, k.repositoryId, k.path, k.ordinal])
            })
            return { symbols: items.map(location), next_cursor: next, resolution }
          }), "inOrder")
      })

    const file = (userId: string, repositoryId: string, path: string, lines: { from: number; to: number } | null) =>
      session(userId, "file", (reader) =>
        Effect.gen(function*() {
          const repo = yield* repository(reader, userId, repositoryId)
          const found = yield* indexedFile(reader, repositoryId, path)
          if (lines !== null && lines.from > found.line_count) {
            return yield* new LineRangeOutsideFile({
              message: `line ${lines.from} is past the end of the file (${found.line_count} lines)`,
              line_count: found.line_count
            })
          }
          const from = lines?.from ?? 1
          const to = Math.min(lines?.to ?? found.line_count, found.line_count)
          const read = yield* readLines(reader, repositoryId, path, from, to)
          return {
            repository_id: repositoryId as RepositoryId,
            path,
            language: found.language,
            size_bytes: found.size_bytes,
            line_count: found.line_count,
            commit: repo.last_indexed_commit,
            start_line: from,
            end_line: read.endLine,
            content: read.content,
            truncated: read.truncated,
            resolution
          }
        }))

    const outline = (userId: string, repositoryId: string, path: string) =>
      session(userId, "outline", (reader) =>
        Effect.gen(function*() {
          yield* repository(reader, userId, repositoryId)
          const found = yield* indexedFile(reader, repositoryId, path)
          const rows = yield* NavigationStore.symbolsOf(reader, repositoryId, path, MAX_OUTLINE_SYMBOLS + 1)
          const symbols: ReadonlyArray<OutlineNode> = outlineTree(rows.slice(0, MAX_OUTLINE_SYMBOLS))
          return {
            repository_id: repositoryId as RepositoryId,
            path,
            language: found.language,
            symbols,
            truncated: rows.length > MAX_OUTLINE_SYMBOLS,
            resolution
          }
        }))

    /** The original's `GET /api/v1/files/symbols/*path`: that file's symbols in each repository holding it. */
    const fileSymbols = (userId: string, repositoryId: string | undefined, path: string) =>
      session(userId, "fileSymbols", (reader) =>
        Effect.gen(function*() {
          const ids = (yield* scope(reader, userId, repositoryId)).map((r) => r.id)
          const holding = ids.length === 0 ? [] : yield* NavigationStore.holding(reader, ids, path)
          if (holding.length === 0) {
            return yield* new FileNotFound({ message: `no indexed file ${path.slice(0, 100)}` })
          }
          const rows = yield* NavigationStore.symbolsAt(
            reader,
            holding.map((row) => row.repository_id),
            path,
            MAX_OUTLINE_SYMBOLS + 1
          )
          return {
            path,
            symbols: rows.slice(0, MAX_OUTLINE_SYMBOLS).map(location),
            truncated: rows.length > MAX_OUTLINE_SYMBOLS,
            resolution
          }
        }))

    const definitions = (userId: string, repositoryId: string, request: {
      readonly name: string
      readonly path: string | undefined
      readonly limit: number | undefined
      readonly cursor: string | undefined
    }) =>
      Effect.gen(function*() {
        const after = yield* decodeOptional(definitionCursor, request.cursor)
        const limit = request.limit ?? 50
        return yield* session(userId, "definitions", (reader) =>
          Effect.gen(function*() {
            yield* repository(reader, userId, repositoryId)
            const rows = yield* NavigationStore.definitions(
              reader,
              repositoryId,
              request.name,
              request.path ?? null,
              after === null ? null : { rank: after[0], path: after[1], ordinal: after[2] },
              limit + 1
            )
            const { items, next } = page(
              rows,
              limit,
              (last) => definitionCursor.encode([last.rank, last.path, last.ordinal])
            )
            const definitions: Array<typeof Definition.Type> = items.map((row) => ({
              ...location(row),
              relation: row.rank === 0 ? "same_file" : row.rank === 1 ? "imported" : "other"
            }))
            return { name: request.name, definitions, next_cursor: next, resolution }
          }))
      })

    const references = (userId: string, repositoryId: string, request: {
      readonly name: string
      readonly kind: ReferenceKind | undefined
      readonly limit: number | undefined
      readonly cursor: string | undefined
    }) =>
      Effect.gen(function*() {
        const after = yield* decodeOptional(referenceCursor, request.cursor)
        const limit = request.limit ?? 100
        return yield* session(userId, "references", (reader) =>
          Effect.gen(function*() {
            yield* repository(reader, userId, repositoryId)
            const rows = yield* NavigationStore.references(
              reader,
              repositoryId,
              request.name,
              request.kind ?? null,
              after === null ? null : { path: after[0], ordinal: after[1] },
              limit + 1
            )
            const { items, next } = page(rows, limit, (last) => referenceCursor.encode([last.path, last.ordinal]))
            const references: Array<typeof Reference.Type> = items.map((row) => ({
              repository_id: row.repository_id as RepositoryId,
              path: row.path,
              name: row.name,
              kind: row.kind,
              line: row.line,
              column: row.col,
              enclosing: row.enclosing
            }))
            return { name: request.name, references, next_cursor: next, resolution }
          }))
      })

    /** Calls of `name` grouped by enclosing definition, in one repository or (undefined) all of the caller's. */
    const callers = (userId: string, repositoryId: string | undefined, request: {
      readonly name: string
      readonly limit: number | undefined
      readonly cursor: string | undefined
    }) =>
      Effect.gen(function*() {
        const after = yield* decodeOptional(callerCursor, request.cursor)
        const limit = request.limit ?? 50
        return yield* session(userId, "callers", (reader) =>
          Effect.gen(function*() {
            const ids = (yield* scope(reader, userId, repositoryId)).map((r) => r.id)
            const rows = ids.length === 0 ? [] : yield* NavigationStore.callers(
              reader,
              ids,
              request.name,
              after === null ? null : { repositoryId: after[0], path: after[1], enclosing: after[2] },
              limit + 1
            )
            const { items, next } = page(
              rows,
              limit,
              (last) => callerCursor.encode([last.repository_id, last.path, last.enclosing ?? ""])
            )
            const names = [...new Set(items.flatMap((row) => row.enclosing === null ? [] : [row.enclosing]))]
            const paths = [...new Set(items.map((row) => row.path))]
            const defined = names.length === 0 ? [] : yield* NavigationStore.definitionsIn(reader, ids, names, paths)
            const callers: Array<typeof CallerSchema.Type> = items.map((row) => {
              const firstCall = row.lines[0] ?? 0
              const candidates = defined.filter((d) =>
                d.repository_id === row.repository_id && d.path === row.path && d.name === row.enclosing
              )
              const holder = candidates.find((d) => d.line <= firstCall && firstCall <= d.end_line) ?? candidates[0]
              const definition: typeof CallerDefinition.Type | null = holder === undefined ? null : {
                kind: holder.kind,
                line: holder.line,
                column: holder.col,
                end_line: holder.end_line,
                signature: holder.signature
              }
              return {
                repository_id: row.repository_id as RepositoryId,
                path: row.path,
                caller: row.enclosing,
                definition,
                calls: row.lines.map((line, i) => ({ line, column: row.cols[i]! })),
                call_count: row.call_count
              }
            })
            return { name: request.name, callers, next_cursor: next, resolution }
          }))
      })

    const dependencies = (userId: string, repositoryId: string, request: {
      readonly path: string
      readonly direction: "dependencies" | "dependents" | undefined
      readonly depth: number | undefined
    }) =>
      session(userId, "dependencies", (reader) =>
        Effect.gen(function*() {
          yield* repository(reader, userId, repositoryId)
          yield* indexedFile(reader, repositoryId, request.path)
          const direction = request.direction ?? "dependencies"
          const depth = request.depth ?? 1
          const graph = yield* walkDependencies(reader, repositoryId, request.path, direction, depth)
          const unresolved = direction === "dependencies"
            ? yield* NavigationStore.unresolvedImports(reader, repositoryId, request.path, MAX_GRAPH_FILES)
            : []
          return {
            repository_id: repositoryId as RepositoryId,
            path: request.path,
            direction,
            depth,
            levels: graph.levels,
            edges: graph.edges,
            cycles: graph.cycles,
            unresolved: unresolved.map((row) => ({ module: row.module, line: row.line })),
            truncated: graph.truncated,
            resolution
          }
        }))

    const impact = (userId: string, repositoryId: string, request: {
      readonly paths: ReadonlyArray<string>
      readonly depth: number | undefined
    }) =>
      session(userId, "impact", (reader) =>
        Effect.gen(function*() {
          yield* repository(reader, userId, repositoryId)
          const depth = request.depth ?? 3
          const reached = new Map<string, Reached>(
            request.paths.map((path) => [path, { depth: 0, via: new Set(), names: new Set() }])
          )
          const truncated = yield* walkImpact(reader, repositoryId, reached, 1, depth, MAX_IMPACT_FILES)
          return {
            paths: [...new Set(request.paths)],
            depth,
            files: impactedFiles(repositoryId, reached),
            truncated,
            resolution
          }
        }))

    /**
     * Impact of a symbol (the original's `GET /api/v1/symbols/:symbol/impact`): the files defining it (depth 0),
     * those referring to it by name (1), then the files impacted by those, up to `depth`.
     */
    const symbolImpact = (userId: string, repositoryId: string | undefined, request: {
      readonly symbol: string
      readonly depth: number | undefined
      readonly limit: number | undefined
    }) =>
      session(userId, "symbolImpact", (reader) =>
        Effect.gen(function*() {
          const depth = request.depth ?? 2
          let budget = request.limit ?? 200
          let truncated = false
          const files: Array<typeof ImpactedFile.Type> = []
          for (const repo of yield* scope(reader, userId, repositoryId)) {
            if (budget <= 0) {
              truncated = true
              break
            }
            const reached = new Map<string, Reached>()
            const defining = yield* NavigationStore.filesDefining(reader, repo.id, request.symbol, budget + 1)
            const users = yield* NavigationStore.referencingFiles(
              reader,
              repo.id,
              [request.symbol],
              false,
              MAX_STEP_CALLS + 1
            )
            if ((users[0]?.read ?? 0) > MAX_STEP_CALLS) truncated = true
            const zero = reacher(reached, budget)(0)
            for (const path of defining) zero.reach(path, "definition")
            const one = reacher(reached, budget)(1)
            for (const row of users) one.reach(row.path, "reference", row.name)
            if (zero.capped() || one.capped()) truncated = true
            if (depth > 1 && (yield* walkImpact(reader, repo.id, reached, 2, depth, budget))) truncated = true
            files.push(...impactedFiles(repo.id, reached))
            budget -= reached.size
          }
          return { symbol: request.symbol, depth, files, truncated, resolution }
        }))

    /** Languages, counts and the most referenced names of one repository or (undefined) all of the caller's. */
    const overview = (
      userId: string,
      repositoryId: string | undefined,
      request: { readonly limit: number | undefined }
    ) =>
      session(userId, "overview", (reader) =>
        Effect.gen(function*() {
          const repos = yield* scope(reader, userId, repositoryId)
          const ids = repos.map((r) => r.id)
          const none = ids.length === 0
          const languages = none ? [] : yield* NavigationStore.languages(reader, ids, OVERVIEW_CAP + 1)
          const kinds = none ? [] : yield* NavigationStore.symbolKinds(reader, ids, OVERVIEW_CAP + 1)
          const counted = none
            ? []
            : yield* NavigationStore.referenceCounts(reader, ids, OVERVIEW_CAP + 1, OVERVIEW_NAMES)
          const defined = counted.length === 0
            ? []
            : yield* NavigationStore.definedNames(reader, ids, counted.map((row) => row.name))
          const definedByName = new Map(defined.map((row) => [row.name, row]))
          const fileCount = languages.reduce((sum, row) => sum + row.files, 0)
          const symbolCount = kinds.reduce((sum, row) => sum + row.count, 0)
          const referencesRead = counted[0]?.read ?? 0
          return {
            repository_id: repositoryId === undefined ? null : repositoryId as RepositoryId,
            repositories: repos.length,
            commit: repositoryId === undefined ? null : repos[0]!.last_indexed_commit,
            file_count: fileCount,
            symbol_count: symbolCount,
            reference_count: referencesRead,
            languages,
            symbol_kinds: kinds,
            most_referenced: counted
              .flatMap((row) => {
                const definition = definedByName.get(row.name)
                return definition === undefined ? [] : [{
                  name: row.name,
                  kind: definition.kind,
                  references: row.n,
                  definitions: definition.definitions,
                  repository_id: definition.repository_id as RepositoryId,
                  path: definition.path,
                  line: definition.line
                }]
              })
              .slice(0, request.limit ?? 10),
            counts_exact: fileCount <= OVERVIEW_CAP && symbolCount <= OVERVIEW_CAP && referencesRead <= OVERVIEW_CAP,
            references_read: referencesRead,
            resolution
          }
        }))

    /** `q` or the original's `pattern`: required by symbol search proper (the `/symbols` listing defaults to `*`). */
    const requireQuery = (q: string | undefined) =>
      q === undefined
        ? Effect.fail(new InvalidQuery({ message: "q is required", position: 0 }))
        : Effect.succeed(q)

    return {
      searchSymbols,
      requireQuery,
      file,
      outline,
      fileSymbols,
      definitions,
      references,
      callers,
      dependencies,
      impact,
      symbolImpact,
      overview
    } as const
  })
}) {}
