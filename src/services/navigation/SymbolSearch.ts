import * as Effect from "effect/Effect"
import type { RankedSymbolRow, SymbolFilter, SymbolGroup, SymbolKey } from "../stores/NavigationStore.js"
import { NavigationStore } from "../stores/NavigationStore.js"
import type { SearchStatement } from "../stores/SearchDatabase.js"

/** Symbol search ranks every match itself up to this many; beyond, it reads the name index in order. */
export const RANKED_CANDIDATES = 500

/** pg_trgm finds trigrams only in runs of three letters or digits: a query without one cannot use its index. */
const indexable = (q: string) => /[\p{L}\p{N}]{3}/u.test(q)

/**
 * Up to `limit` definitions after `after` in symbol search's order: names equal to `q` (case-insensitive),
 * then starting with it, then containing it (only when `q` can use the trigram index), each by lower-cased
 * name, repository, path and position; `*` lists every definition. When the trigram index finds few matches
 * they are ranked at once; otherwise each group is read in order from the lower-cased name index, a page at
 * a time.
 */
export const findSymbols = (
  run: SearchStatement,
  repositoryIds: ReadonlyArray<string>,
  q: string,
  filter: SymbolFilter,
  after: SymbolKey | null,
  limit: number
) =>
  Effect.gen(function*() {
    if (repositoryIds.length === 0) return []
    if (q !== "*" && indexable(q)) {
      const probe = yield* NavigationStore.symbolCandidates(
        run,
        repositoryIds,
        q,
        filter,
        after,
        limit,
        RANKED_CANDIDATES
      )
      if (probe.candidates <= RANKED_CANDIDATES) return probe.rows
    }
    const groups: ReadonlyArray<SymbolGroup> = q === "*"
      ? ["all"]
      : indexable(q)
      ? ["exact", "prefix", "contains"]
      : ["exact", "prefix"]
    const found: Array<RankedSymbolRow> = []
    for (const [rank, group] of groups.entries()) {
      if (found.length >= limit) break
      if (after !== null && rank < after.rank) continue
      const from = after !== null && rank === after.rank ? after : null
      found.push(
        ...(yield* NavigationStore.symbolGroup(run, repositoryIds, group, q, filter, from, limit - found.length))
      )
    }
    return found
  })
