import * as Effect from "effect/Effect"
import type { RankedSymbolRow, SymbolFilter, SymbolKey } from "../stores/NavigationStore.js"
import { NavigationStore } from "../stores/NavigationStore.js"
import type { NavigationReader } from "../stores/NavigationStore.js"

/** The contains group is ordered from the trigram index up to this many matches; beyond, by the name index. */
export const RANKED_CANDIDATES = 1000

/** pg_trgm finds trigrams only in runs of three letters or digits: a query without one cannot use its index. */
const indexable = (q: string) => /[\p{L}\p{N}]{3}/u.test(q)

/**
 * Up to `limit` definitions after `after` in symbol search's order: names equal to `q` (case-insensitive),
 * then starting with it, then containing it (only when `q` can use the trigram index), each by lower-cased
 * name, repository, path and position; `*` lists every definition. Exact and prefix are one range of
 * the lower-cased name index, read first; the contains group is read only when that leaves the page short,
 * from the trigram index when its matches are few, else from the lower-cased name index in order (rank 3
 * instead of 2, so that the next page's cursor says which).
 */
export const findSymbols = (
  reader: NavigationReader,
  repositoryIds: ReadonlyArray<string>,
  q: string,
  filter: SymbolFilter,
  after: SymbolKey | null,
  limit: number
) =>
  Effect.gen(function*() {
    if (repositoryIds.length === 0) return []
    if (q === "*") return yield* NavigationStore.symbolGroup(reader, repositoryIds, "all", q, filter, after, limit)
    const found: Array<RankedSymbolRow> = []
    if (after === null || after.rank < 2) {
      found.push(...(yield* NavigationStore.symbolGroup(reader, repositoryIds, "named", q, filter, after, limit)))
    }
    if (found.length >= limit || !indexable(q)) return found
    const from = after !== null && after.rank >= 2 ? after : null
    const wanted = limit - found.length
    // A page that ended in the contains group read in order (rank 3) had too many matches for the probe: the
    // next starts where it ended, in the same order, without probing again.
    if (from !== null && from.rank === 3) {
      return yield* NavigationStore.symbolGroup(reader, repositoryIds, "contains", q, filter, from, wanted)
    }
    const probe = yield* NavigationStore.symbolCandidates(
      reader,
      repositoryIds,
      q,
      filter,
      from,
      wanted,
      RANKED_CANDIDATES
    )
    found.push(
      ...(probe.candidates <= RANKED_CANDIDATES
        ? probe.rows
        : yield* NavigationStore.symbolGroup(reader, repositoryIds, "contains", q, filter, from, wanted))
    )
    return found
  })
