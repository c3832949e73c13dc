// The navigation pages bench:symbols times beside symbol search, each for a name the corpus uses everywhere
// (SPEC section 12: a request costs its own size, not how often the name occurs): a page of definitions,
// references or callers of a hot name, whose rows grow with the repository (BENCH_SCALE copies of the corpus
// in the second tenant's one repository) while the page stays 20 entries. Each answer is checked against
// the counts of a plain SQL statement: a full page and a next cursor when there are more, all of them when not.
import { queryOnce } from "../lib/database.js"

export interface NavigationQuery {
  readonly label: string
  readonly path: (repositoryId: string, limit: number) => string
  /** The field of the answer that holds the page's entries. */
  readonly field: "definitions" | "references" | "callers"
  /** How many entries the route has for the name in the repository ($1), in all. */
  readonly total: string
}

const route = (repositoryId: string, what: string, params: Record<string, string>) =>
  `/api/v1/repositories/${repositoryId}/${what}?${new URLSearchParams(params)}`

const references = (name: string, kind?: string) =>
  `SELECT count(*)::int AS n FROM code_references r, unnest(r.kinds) AS u (code)
   WHERE r.repository_id = $1 AND r.name = '${name}'${kind === undefined ? "" : ` AND u.code = '${kind}'`}`

export const NAVIGATION: ReadonlyArray<NavigationQuery> = [
  {
    label: "references pipe",
    path: (id, limit) => route(id, "references", { name: "pipe", limit: `${limit}` }),
    field: "references",
    total: references("pipe")
  },
  {
    label: "references map kind=call",
    path: (id, limit) => route(id, "references", { name: "map", kind: "call", limit: `${limit}` }),
    field: "references",
    total: references("map", "c")
  },
  {
    label: "callers pipe",
    path: (id, limit) => route(id, "callers", { name: "pipe", limit: `${limit}` }),
    field: "callers",
    total: `SELECT count(DISTINCT (r.path, u.enclosing))::int AS n
            FROM code_references r, unnest(r.kinds, r.enclosings) AS u (code, enclosing)
            WHERE r.repository_id = $1 AND r.name = 'pipe' AND u.code = 'c'`
  },
  {
    label: "definitions get path=effect/src/Option.ts",
    path: (id, limit) => route(id, "definitions", { name: "get", path: "effect/src/Option.ts", limit: `${limit}` }),
    field: "definitions",
    total: "SELECT count(*)::int AS n FROM code_symbols WHERE repository_id = $1 AND name = 'get'"
  }
]

/** What is wrong with a first page of `query` and the name's count in the repository; [] when nothing is. */
export const checkNavigation = async (
  databaseUrl: string,
  repositoryId: string,
  query: NavigationQuery,
  answer: Record<string, unknown>,
  limit: number
) => {
  const problems: Array<string> = []
  const [{ n: total }] = await queryOnce<{ n: number }>(databaseUrl, query.total, [repositoryId]) as [{ n: number }]
  const entries = answer[query.field]
  if (answer.resolution !== "name-match") problems.push(`resolution ${JSON.stringify(answer.resolution)}`)
  if (!Array.isArray(entries)) return { problems: [...problems, `no ${query.field}`], total }
  if (entries.length !== Math.min(limit, total)) problems.push(`${entries.length} ${query.field} of ${total}`)
  if ((answer.next_cursor !== null) !== total > limit) {
    problems.push(`next_cursor ${answer.next_cursor === null ? "missing" : "present"} with ${total} in all`)
  }
  return { problems, total }
}
