// The queries bench:symbols times on GET /api/v1/search/symbols, and what every answer must satisfy: the
// route's contract (SPEC section 10: names containing q, case-insensitive, exact names first, then names
// starting with q, then the rest, each in lower-cased name order (bytes), then repository, path, position;
// filters applied) checked on the answer itself, and the same page from a plain SQL statement over
// code_symbols (an oracle with none of the route's access paths).
import { queryOnce } from "../lib/database.js"

export type QueryKind =
  | "exact, common"
  | "exact, rare"
  | "prefix"
  | "substring"
  | "1–2 characters"
  | "kind filter"
  | "lang filter"
  | "no match"
  | "second page"
  | "one repository"

export interface SymbolQuery {
  readonly kind: QueryKind
  readonly q: string
  readonly symbolKind?: string
  /** The `lang` parameter, and the Linguist name every answer must have. */
  readonly lang?: { readonly param: string; readonly name: string }
  /** Time the page after the first (through the first page's cursor). */
  readonly secondPage?: boolean
  /** With `repository_id` (the caller's only repository, so the same answer). */
  readonly scoped?: boolean
}

const lang = (param: string, name: string) => ({ param, name })

// Names from the base corpus: Effect's and ESLint's sources, Python's standard library, C headers.
export const QUERIES: ReadonlyArray<SymbolQuery> = [
  { kind: "exact, common", q: "get" },
  { kind: "exact, common", q: "map" },
  { kind: "exact, common", q: "__init__" },
  { kind: "exact, common", q: "make" },
  { kind: "exact, rare", q: "urlsplit" },
  { kind: "exact, rare", q: "getaddrinfo" },
  { kind: "exact, rare", q: "SequenceMatcher" },
  { kind: "exact, rare", q: "decodeUnknownSync" },
  { kind: "prefix", q: "mapErr" },
  { kind: "prefix", q: "pthread_attr_" },
  { kind: "prefix", q: "unsafeM" },
  { kind: "substring", q: "Error" },
  { kind: "substring", q: "lock" },
  { kind: "substring", q: "Stream" },
  { kind: "substring", q: "parse" },
  { kind: "substring", q: "ock" },
  { kind: "1–2 characters", q: "a" },
  { kind: "1–2 characters", q: "x" },
  { kind: "1–2 characters", q: "id" },
  { kind: "1–2 characters", q: "_" },
  { kind: "kind filter", q: "get", symbolKind: "method" },
  { kind: "kind filter", q: "Error", symbolKind: "class" },
  { kind: "kind filter", q: "parse", symbolKind: "function" },
  { kind: "kind filter", q: "a", symbolKind: "class" },
  { kind: "lang filter", q: "map", lang: lang("python", "Python") },
  { kind: "lang filter", q: "init", lang: lang("c", "C") },
  { kind: "lang filter", q: "Effect", lang: lang("typescript", "TypeScript") },
  { kind: "no match", q: "zebraQuokkaNeverThere" },
  { kind: "no match", q: "qz" },
  { kind: "second page", q: "get", secondPage: true },
  { kind: "second page", q: "Error", secondPage: true },
  { kind: "second page", q: "a", secondPage: true },
  { kind: "second page", q: "lock", symbolKind: "function", secondPage: true },
  { kind: "one repository", q: "map", scoped: true },
  { kind: "one repository", q: "lock", scoped: true }
]

export const KINDS: ReadonlyArray<QueryKind> = [...new Set(QUERIES.map((query) => query.kind))]

export const describe = (query: SymbolQuery) =>
  [
    query.q,
    query.symbolKind === undefined ? "" : ` kind=${query.symbolKind}`,
    query.lang === undefined ? "" : ` lang=${query.lang.param}`,
    query.scoped === true ? " repository_id" : "",
    query.secondPage === true ? " page 2" : ""
  ].join("")

/** The route's URL for the query's first page, or the page after `cursor`. */
export const pathOf = (query: SymbolQuery, repositoryId: string, cursor?: string) => {
  const params = new URLSearchParams({ q: query.q })
  if (query.symbolKind !== undefined) params.set("kind", query.symbolKind)
  if (query.lang !== undefined) params.set("lang", query.lang.param)
  if (query.scoped === true) params.set("repository_id", repositoryId)
  if (cursor !== undefined) params.set("cursor", cursor)
  return `/api/v1/search/symbols?${params}`
}

export interface Symbol {
  readonly repository_id: string
  readonly path: string
  readonly language: string
  readonly name: string
  readonly kind: string
  readonly line: number
}

export interface Answer {
  readonly symbols: ReadonlyArray<Symbol>
  readonly next_cursor: string | null
  readonly resolution: string
}

/** The route's rule: a q with three consecutive letters or digits finds names containing it, else names starting with it. */
const contains = (q: string) => /[\p{L}\p{N}]{3}/u.test(q)

const rankOf = (q: string, name: string) => {
  const [lq, ln] = [q.toLowerCase(), name.toLowerCase()]
  return ln === lq ? 0 : ln.startsWith(lq) ? 1 : ln.includes(lq) ? 2 : -1
}

const identity = (s: Symbol) => `${s.repository_id} ${s.path}:${s.line} ${s.name}`

/**
 * What is wrong with the query's answers (the first page, and the second when timed), on their own and
 * against the oracle's first two pages and whether a third exists; [] when nothing is.
 */
export const checkAnswers = async (
  databaseUrl: string,
  repositoryIds: ReadonlyArray<string>,
  query: SymbolQuery,
  pages: ReadonlyArray<Answer>,
  limit: number
) => {
  const problems: Array<string> = []
  const symbols = pages.flatMap((page) => page.symbols)
  for (const page of pages) {
    if (page.resolution !== "name-match") problems.push(`resolution ${JSON.stringify(page.resolution)}`)
    if (page.symbols.length > limit) problems.push(`${page.symbols.length} symbols on a page of ${limit}`)
  }
  let previous = { rank: 0, lname: "" }
  for (const s of symbols) {
    const rank = rankOf(query.q, s.name)
    if (rank < 0 || (rank === 2 && !contains(query.q))) problems.push(`${s.name} does not match`)
    if (query.symbolKind !== undefined && s.kind !== query.symbolKind) problems.push(`${s.name} is a ${s.kind}`)
    if (query.lang !== undefined && s.language !== query.lang.name) problems.push(`${s.name} is ${s.language}`)
    const lname = s.name.toLowerCase()
    if (
      rank < previous.rank ||
      (rank === previous.rank && Buffer.compare(Buffer.from(lname), Buffer.from(previous.lname)) < 0)
    ) {
      problems.push(`${s.name} (${["exact", "prefix", "contains"][rank]}) after ${previous.lname}: out of order`)
    }
    previous = { rank, lname }
  }

  const params: Array<unknown> = [repositoryIds, query.q, pages.length * limit + 1]
  const match = contains(query.q) ? "strpos(lower(name), lower($2)) > 0" : "starts_with(lower(name), lower($2))"
  const filters = [
    query.symbolKind === undefined ? "" : ` AND kind = $${params.push(query.symbolKind)}`,
    query.lang === undefined ? "" : ` AND language = $${params.push(query.lang.name)}`
  ].join("")
  const expected = await queryOnce<Symbol & { readonly total: number }>(
    databaseUrl,
    `SELECT repository_id::text, path, language, name, kind, line, count(*) OVER ()::int AS total FROM code_symbols
     WHERE repository_id = ANY($1::uuid[]) AND ${match}${filters}
     ORDER BY CASE WHEN lower(name) = lower($2) THEN 0 WHEN starts_with(lower(name), lower($2)) THEN 1 ELSE 2 END,
       lower(name) COLLATE "C", repository_id, path, ordinal
     LIMIT $3`,
    params
  )
  const want = expected.slice(0, pages.length * limit).map(identity)
  const got = symbols.map(identity)
  if (want.join("\n") !== got.join("\n")) {
    const at = want.findIndex((w, i) => w !== got[i])
    problems.push(
      `differs from the oracle at #${at < 0 ? got.length : at + 1}: ${got[at] ?? "nothing"} for ${
        want[at] ?? "nothing"
      }`
    )
  }
  const more = expected.length > pages.length * limit
  if ((pages.at(-1)!.next_cursor !== null) !== more) {
    problems.push(
      `next_cursor ${pages.at(-1)!.next_cursor === null ? "missing" : "present"} with ${expected.length} rows`
    )
  }
  return { problems, matches: expected[0]?.total ?? 0 }
}
