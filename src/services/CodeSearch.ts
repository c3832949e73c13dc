import * as Effect from "effect/Effect"
import type { RepositoryId } from "../domain/Repository.js"
import { InvalidCursor, RepositoryNotFound } from "../domain/Repository.js"
import type { CodeMatch, FileMatch } from "../domain/Search.js"
import { InvalidQuery, SearchUnavailable } from "../domain/Search.js"
import type { Pattern, SearchQuery } from "../domain/SearchQuery.js"
import { parseQuery, QueryError } from "../domain/SearchQuery.js"
import type { Required } from "../domain/SearchRegex.js"
import { SearchAdmission } from "./SearchAdmission.js"
import { fold } from "./stores/Chunking.js"
import { NavigationStore } from "./stores/NavigationStore.js"
import type { SearchStatement } from "./stores/SearchDatabase.js"
import { SearchDatabase } from "./stores/SearchDatabase.js"
import type { ChunkFilter, ChunkRow, Position } from "./stores/SearchStore.js"
import {
  BATCH_CHUNKS,
  indexableOnly,
  likelySelective,
  PROBE_CHUNKS,
  SearchStore,
  SELECTIVE_CHUNKS
} from "./stores/SearchStore.js"

const MATCHES_PER_FILE = 5
/** Files a `sym:` search reads from the symbol index per statement. */
const DEFINING_FILES_PER_READ = 50
const SNIPPET_CHARS = 200

type Match = typeof CodeMatch.Type
type FileResult = typeof FileMatch.Type

/** Where a page ended: inside a file after `line`, or after the whole file when line is -1. */
interface Cursor {
  readonly repositoryId: string
  readonly path: string
  readonly line: number
}

const encodeCursor = (c: Cursor) => Buffer.from(JSON.stringify([c.repositoryId, c.path, c.line])).toString("base64url")

const decodeCursor = (cursor: string) =>
  Effect.try({
    try: (): Cursor => {
      const [repositoryId, path, line = -1] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as Array<
        unknown
      >
      if (
        typeof repositoryId !== "string" || typeof path !== "string" || !/^[0-9a-f-]{36}$/i.test(repositoryId) ||
        typeof line !== "number" || !Number.isInteger(line) || line < -1
      ) throw new Error("bad cursor")
      return { repositoryId, path, line }
    },
    catch: () => new InvalidCursor({ message: "cursor is not one this API returned" })
  })

const escapeRegex = (s: string) => s.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&")

const matcherOf = (pattern: Pattern, caseSensitive: boolean) =>
  pattern._tag === "Regex"
    ? new RegExp(pattern.js, caseSensitive && !pattern.caseInsensitive ? "gu" : "giu")
    : new RegExp(escapeRegex(pattern.text), caseSensitive ? "gu" : "giu")

const foldRequired = (r: Required): Required =>
  r._tag === "literal"
    ? { _tag: "literal", text: fold(r.text) }
    : r._tag === "any"
    ? r
    : { _tag: r._tag, items: r.items.map(foldRequired) }

/** What a chunk must contain for any pattern to match a line of it. */
const requiredOf = (patterns: ReadonlyArray<Pattern>): Required => {
  const items = patterns.map((p): Required =>
    p._tag === "Regex" ? foldRequired(p.required) : { _tag: "literal", text: fold(p.text) }
  )
  return items.some((r) => r._tag === "any") ? { _tag: "any" } : items.length === 1 ? items[0]! : { _tag: "or", items }
}

interface LineMatch {
  readonly line: number
  readonly text: string
  readonly ranges: ReadonlyArray<readonly [number, number]>
}

const snippetOf = (text: string, ranges: ReadonlyArray<readonly [number, number]>) => {
  const first = ranges[0]!
  let start = 0
  if (text.length > SNIPPET_CHARS) {
    const length = first[1] - first[0]
    start = Math.max(0, Math.min(first[0] - Math.floor((SNIPPET_CHARS - length) / 2), text.length - SNIPPET_CHARS))
  }
  const end = Math.min(text.length, start + SNIPPET_CHARS)
  const raw = text.slice(start, end)
  const lead = raw.length - raw.trimStart().length
  const snippet = raw.trim()
  const shifted: Array<[number, number]> = []
  for (const [a, b] of ranges) {
    if (b < start || a > end) continue
    const from = Math.max(0, Math.min(snippet.length, Math.max(a, start) - start - lead))
    const to = Math.max(0, Math.min(snippet.length, Math.min(b, end) - start - lead))
    if (to > from || (a === b && from === to)) shifted.push([from, to])
  }
  return { snippet, ranges: shifted }
}

/**
 * Code search (SPEC section 9) over line-aligned chunks of the caller's files: the query language is parsed
 * (domain/SearchQuery), the chunks that can hold a match are found one repository at a time (through the
 * trigram index, or an ordered probe first when the pattern is common; bench/README.md, search), and every line of a candidate is verified here as rg would.
 */
export class CodeSearch extends Effect.Service<CodeSearch>()("services/CodeSearch", {
  effect: Effect.gen(function*() {
    const database = yield* SearchDatabase
    const admission = yield* SearchAdmission

    const run = (
      statement: SearchStatement,
      userId: string,
      query: SearchQuery,
      options: {
        readonly repositoryId: string | undefined
        readonly limit: number
        readonly after: Cursor | null
        readonly context: number
      }
    ) =>
      Effect.gen(function*() {
        const textual = query.symbols.length === 0 && query.patterns.length > 0
        const reader = yield* SearchStore.begin(statement, textual ? "index" : null)
        let repositories = yield* SearchStore.repositories(statement, userId)
        if (options.repositoryId !== undefined) {
          repositories = repositories.filter((r) => r.id === options.repositoryId)
          if (repositories.length === 0) {
            return yield* new RepositoryNotFound({ message: `no repository ${options.repositoryId}` })
          }
        }
        if (query.repos.length > 0) {
          repositories = repositories.filter((r) =>
            query.repos.some((value) => value.toLowerCase() === r.id || value.toLowerCase() === r.name.toLowerCase())
          )
        }
        const after = options.after
        if (after !== null) repositories = repositories.filter((r) => r.id >= after.repositoryId)

        const limit = options.limit
        const matches: Array<Match> = []
        const files: Array<FileResult> = []
        const listFiles = query.typeFile || (query.patterns.length === 0 && query.symbols.length === 0)
        const count = () => listFiles ? files.length : matches.length
        const full = () => count() > limit

        if (query.patterns.length === 0 && query.symbols.length === 0) {
          const filter: ChunkFilter = { required: { _tag: "any" }, paths: query.paths, languages: query.languages }
          for (const repository of repositories) {
            const start = after !== null && after.repositoryId === repository.id ? after.path : ""
            const rows = yield* SearchStore.files(statement, repository.id, start, filter, limit + 1 - files.length)
            for (const row of rows) {
              files.push({
                repository_id: repository.id as RepositoryId,
                path: row.path,
                language: row.language,
                match_count: 0
              })
            }
            if (full()) break
          }
        } else {
          const matchers = query.patterns.map((p) => matcherOf(p, query.caseSensitive))
          const required = requiredOf(query.patterns)
          const indexed = indexableOnly(required)

          const finishFile = (
            repositoryId: string,
            path: string,
            language: string | null,
            chunks: ReadonlyArray<Pick<ChunkRow, "start_line" | "content">>,
            afterLine: number,
            definitions?: ReadonlyMap<number, ReadonlyArray<readonly [number, number]>>
          ) => {
            const lines: Array<LineMatch> = []
            const seen = new Set<number>()
            for (const chunk of chunks) {
              const content = chunk.content!
              let line = chunk.start_line
              let from = 0
              while (from < content.length) {
                const nl = content.indexOf("\n", from)
                const end = nl === -1 ? content.length : nl
                const text = content.slice(from, end)
                let ranges: Array<[number, number]> | undefined = definitions?.get(line)?.map(([a, b]) => [a, b])
                for (const [k, matcher] of matchers.entries()) {
                  matcher.lastIndex = 0
                  for (let m = matcher.exec(text); m !== null; m = matcher.exec(text)) {
                    ;(ranges ??= []).push([m.index, m.index + m[0].length])
                    seen.add(k)
                    if (m[0].length === 0) matcher.lastIndex++
                  }
                }
                if (ranges !== undefined) {
                  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1])
                  lines.push({ line, text, ranges })
                }
                line++
                from = end + 1
              }
            }
            if (lines.length === 0 || seen.size < matchers.length) return
            if (query.typeFile) {
              files.push({ repository_id: repositoryId as RepositoryId, path, language, match_count: lines.length })
              return
            }
            for (const found of lines.slice(0, MATCHES_PER_FILE)) {
              if (found.line <= afterLine) continue
              const { ranges, snippet } = snippetOf(found.text, found.ranges)
              matches.push({
                repository_id: repositoryId as RepositoryId,
                path,
                language,
                line: found.line,
                column: found.ranges[0]![0] + 1,
                snippet,
                ranges
              })
              if (full()) return
            }
          }

          for (const repository of query.symbols.length > 0 ? [] : repositories) {
            const resume = after !== null && after.repositoryId === repository.id ? after : null
            let position: Position = resume === null
              ? { path: "", chunkNo: -1 }
              : { path: resume.path, chunkNo: resume.line === -1 ? 2 ** 31 - 1 : -1 }
            // A pattern that looks rare tries the index first (one with too many candidates for that turns to the
            // probe); any other starts with the ordered probe, which fills the first page of a common pattern sooner.
            let mode: "selective" | "probe" | "candidates" | "scan" = indexed._tag === "any"
              ? "scan"
              : likelySelective(indexed)
              ? "selective"
              : "probe"
            const filter: ChunkFilter = { required: indexed, paths: query.paths, languages: query.languages }
            let pending: { path: string; language: string | null; chunks: Array<ChunkRow> } | null = null
            const flush = () => {
              if (pending !== null && pending.chunks.length > 0) {
                const afterLine = resume !== null && resume.path === pending.path ? resume.line : 0
                finishFile(repository.id, pending.path, pending.language, pending.chunks, afterLine)
              }
              pending = null
            }
            const take = (rows: ReadonlyArray<ChunkRow>) => {
              for (const row of rows) {
                if (pending !== null && pending.path !== row.path) {
                  flush()
                  if (full()) return
                }
                pending ??= { path: row.path, language: row.language, chunks: [] }
                if (row.content !== null) pending.chunks.push(row)
              }
            }
            for (;;) {
              const requested = mode === "probe" ? 0 : BATCH_CHUNKS
              let last: Position | undefined
              let exhausted: boolean
              if (mode === "selective") {
                // The content of about a page's worth of candidates first, then of twice as many each time the
                // page is not full yet: what is read and sent follows the page, not the candidates.
                const found = yield* SearchStore.selective(
                  reader,
                  repository.id,
                  position,
                  filter,
                  requested,
                  limit + 1
                )
                if (found.total > SELECTIVE_CHUNKS) {
                  mode = "probe"
                  continue
                }
                take(found.rows)
                const keys = found.keys
                let size = Math.max(found.rows.length, 1)
                for (let next = 0; next < keys.length && !full(); next += size) {
                  size *= 2
                  take(yield* SearchStore.chunks(reader, repository.id, keys.slice(next, next + size)))
                }
                const lastRow = found.rows[found.rows.length - 1]
                last = keys[keys.length - 1] ??
                  (lastRow === undefined ? undefined : { path: lastRow.path, chunkNo: lastRow.chunk_no })
                exhausted = found.rows.length + keys.length < requested
              } else {
                const rows = mode === "probe"
                  ? yield* SearchStore.probe(reader, repository.id, position, filter, required)
                  : mode === "candidates"
                  ? yield* SearchStore.candidates(reader, repository.id, position, filter, requested)
                  : yield* SearchStore.scan(reader, repository.id, position, filter, required, requested)
                take(rows)
                const lastRow = rows[rows.length - 1]
                last = lastRow === undefined ? undefined : { path: lastRow.path, chunkNo: lastRow.chunk_no }
                exhausted = mode === "probe" ? rows.length < PROBE_CHUNKS : rows.length < requested
              }
              if (full()) break
              if (exhausted || last === undefined) {
                flush()
                break
              }
              position = last
              if (mode === "probe" || mode === "selective") mode = "candidates"
            }
            if (full()) break
          }

          // sym: the files defining every name (from the symbol index, not the text), in path order; their
          // definition lines are matches beside the lines matching a pattern, which the file must also hold.
          for (const repository of query.symbols.length > 0 ? repositories : []) {
            const resume = after !== null && after.repositoryId === repository.id ? after : null
            let afterPath = resume === null ? "" : resume.path
            let inclusive = resume !== null && resume.line !== -1
            for (;;) {
              const files = yield* NavigationStore.filesDefiningAll(
                NavigationStore.within(statement),
                repository.id,
                query.symbols,
                query.caseSensitive,
                { paths: query.paths, languages: query.languages },
                afterPath,
                inclusive,
                DEFINING_FILES_PER_READ
              )
              const found = files.length === 0 ? [] : yield* NavigationStore.definitionsNamed(
                NavigationStore.within(statement),
                repository.id,
                query.symbols,
                query.caseSensitive,
                files.map((file) => file.path)
              )
              for (const file of files) {
                const definitions = new Map<number, Array<readonly [number, number]>>()
                for (const d of found) {
                  if (d.path !== file.path) continue
                  const ranges = definitions.get(d.line) ?? []
                  ranges.push([d.col - 1, d.col - 1 + d.name.length])
                  definitions.set(d.line, ranges)
                }
                const defined = [...definitions.keys()]
                const chunks = yield* SearchStore.lines(
                  statement,
                  repository.id,
                  file.path,
                  matchers.length === 0 ? Math.min(...defined) : 1,
                  matchers.length === 0 ? Math.max(...defined) : 2 ** 31 - 1
                )
                const afterLine = resume !== null && resume.path === file.path ? resume.line : 0
                finishFile(repository.id, file.path, file.language, chunks, afterLine, definitions)
                if (full()) break
              }
              if (full() || files.length < DEFINING_FILES_PER_READ) break
              afterPath = files[files.length - 1]!.path
              inclusive = false
            }
            if (full()) break
          }
        }

        const more = full()
        if (listFiles) {
          const page = files.slice(0, limit)
          const last = page[page.length - 1]
          return {
            matches: [],
            files: page,
            next_cursor: more && last !== undefined
              ? encodeCursor({ repositoryId: last.repository_id, path: last.path, line: -1 })
              : null
          }
        }
        let page = matches.slice(0, limit)
        if (options.context > 0) {
          const n = options.context
          const withContext: Array<Match> = []
          for (const match of page) {
            const chunks = yield* SearchStore.lines(
              statement,
              match.repository_id,
              match.path,
              Math.max(1, match.line - n),
              match.line + n
            )
            const lines = new Map<number, string>()
            for (const chunk of chunks) {
              const texts = chunk.content.split("\n")
              if (chunk.content.endsWith("\n")) texts.pop()
              for (const [k, text] of texts.entries()) lines.set(chunk.start_line + k, text)
            }
            const range = (from: number, to: number) => {
              const out: Array<string> = []
              for (let l = from; l <= to; l++) {
                const text = lines.get(l)
                if (text !== undefined) out.push(text)
              }
              return out
            }
            withContext.push({
              ...match,
              before: range(Math.max(1, match.line - n), match.line - 1),
              after: range(match.line + 1, match.line + n)
            })
          }
          page = withContext
        }
        const last = page[page.length - 1]
        return {
          matches: page,
          next_cursor: more && last !== undefined
            ? encodeCursor({ repositoryId: last.repository_id, path: last.path, line: last.line })
            : null
        }
      })

    const search = (userId: string, request: {
      readonly q: string
      readonly repositoryId?: RepositoryId | undefined
      readonly limit?: number | undefined
      readonly cursor?: string | undefined
      readonly context?: number | undefined
    }) =>
      Effect.gen(function*() {
        const query = yield* Effect.try({
          try: () => parseQuery(request.q),
          catch: (error) =>
            error instanceof QueryError
              ? new InvalidQuery({
                message: `${error.problem} (at position ${error.position})`,
                position: error.position
              })
              : new InvalidQuery({ message: "the query could not be parsed", position: 0 })
        })
        const after = request.cursor === undefined ? null : yield* decodeCursor(request.cursor)
        return yield* admission.admitted(
          userId,
          database.withConnection((statement) =>
            run(statement, userId, query, {
              repositoryId: request.repositoryId,
              limit: request.limit ?? 20,
              after,
              context: request.context ?? 0
            }).pipe(Effect.tap(() => statement("COMMIT")))
          )
        )
      }).pipe(
        Effect.catchTag("SqlError", (error) => {
          const code = (error.cause as { code?: unknown } | undefined)?.code
          return code === "57014"
            ? Effect.fail(new SearchUnavailable({ message: "the search took too long; narrow it with path: or lang:" }))
            : Effect.fail(new SearchUnavailable({ message: "search is unavailable; retry shortly" }))
        }),
        Effect.withSpan("CodeSearch.search")
      )

    return { search } as const
  })
}) {}
