import { Effect, Option } from "effect"
import type { RepositoryId } from "../domain/Repository.js"
import { InvalidCursor, RepositoryNotFound } from "../domain/Repository.js"
import { IndexedFileStore } from "./stores/IndexedFileStore.js"
import { RepositoryStore } from "./stores/RepositoryStore.js"

const MATCHES_PER_FILE = 5
const SNIPPET_CHARS = 200

/** `q` as a literal ILIKE substring pattern: `%`, `_` and `\` match themselves. */
const likePattern = (q: string) => `%${q.replace(/[\\%_]/g, "\\$&")}%`

const snippetOf = (line: string, at: number, length: number) => {
  if (line.length <= SNIPPET_CHARS) return line.trim()
  const start = Math.max(0, Math.min(at - Math.floor((SNIPPET_CHARS - length) / 2), line.length - SNIPPET_CHARS))
  return line.slice(start, start + SNIPPET_CHARS).trim()
}

const encodeCursor = (repositoryId: string, path: string) =>
  Buffer.from(JSON.stringify([repositoryId, path])).toString("base64url")

const decodeCursor = (cursor: string) =>
  Effect.try({
    try: () => {
      const [repositoryId, path] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as [unknown, unknown]
      if (typeof repositoryId !== "string" || typeof path !== "string" || !/^[0-9a-f-]{36}$/i.test(repositoryId)) {
        throw new Error("bad cursor")
      }
      return { repositoryId, path }
    },
    catch: () => new InvalidCursor({ message: "cursor is not one this API returned" })
  })

/**
 * Substring search over the caller's indexed files only: the trigram index finds the files, then
 * each file's matching lines are reported with their line numbers (at most 5 per file). Pages end
 * at a file boundary.
 */
export class CodeSearch extends Effect.Service<CodeSearch>()("services/CodeSearch", {
  effect: Effect.gen(function*() {
    const files = yield* IndexedFileStore
    const repositories = yield* RepositoryStore

    const search = (userId: string, query: {
      readonly q: string
      readonly repositoryId?: RepositoryId | undefined
      readonly limit?: number | undefined
      readonly cursor?: string | undefined
    }) =>
      Effect.gen(function*() {
        const limit = query.limit ?? 20
        if (query.repositoryId !== undefined) {
          const owned = yield* repositories.findForUser(query.repositoryId, userId)
          if (Option.isNone(owned)) {
            return yield* new RepositoryNotFound({ message: `no repository ${query.repositoryId}` })
          }
        }
        const after = query.cursor === undefined ? null : yield* decodeCursor(query.cursor)
        const rows = yield* files.search({
          userId,
          pattern: likePattern(query.q),
          repositoryId: query.repositoryId ?? null,
          after,
          limit: limit + 1
        })
        const needle = query.q.toLowerCase()
        const matches: Array<{ repository_id: RepositoryId; path: string; line: number; snippet: string }> = []
        let last: { repositoryId: string; path: string } | null = null
        let more = false
        for (const row of rows) {
          if (matches.length >= limit) {
            more = true
            break
          }
          const lines = row.content.split("\n")
          let found = 0
          for (let i = 0; i < lines.length && found < MATCHES_PER_FILE && matches.length < limit; i++) {
            const at = lines[i]!.toLowerCase().indexOf(needle)
            if (at === -1) continue
            found++
            matches.push({
              repository_id: row.repositoryId as RepositoryId,
              path: row.path,
              line: i + 1,
              snippet: snippetOf(lines[i]!, at, needle.length)
            })
          }
          last = { repositoryId: row.repositoryId, path: row.path }
        }
        return {
          matches,
          next_cursor: more && last !== null ? encodeCursor(last.repositoryId, last.path) : null
        }
      }).pipe(Effect.withSpan("CodeSearch.search"))

    return { search } as const
  })
}) {}
