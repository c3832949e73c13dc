import * as Effect from "effect/Effect"
import { NavigationStore } from "../stores/NavigationStore.js"
import type { NavigationReader } from "../stores/NavigationStore.js"
import { MAX_STEP_EDGES } from "./DependencyWalk.js"

export type Via = "import" | "call" | "reference" | "definition"

export interface Reached {
  readonly depth: number
  readonly via: Set<Via>
  readonly names: Set<string>
}

/** Names of one step's files looked up as calls at most. */
const MAX_STEP_NAMES = 2000
/** Calls read per step at most. */
export const MAX_STEP_CALLS = 50_000
const NAMES_PER_FILE = 10

/** Records files reached at one depth; false when the file cap stopped one. */
export const reacher = (reached: Map<string, Reached>, maxFiles: number) => (depth: number) => {
  const next: Array<string> = []
  let capped = false
  const reach = (path: string, via: Via, name?: string) => {
    const known = reached.get(path)
    if (known === undefined) {
      if (reached.size >= maxFiles) {
        capped = true
        return
      }
      reached.set(path, { depth, via: new Set([via]), names: new Set(name === undefined ? [] : [name]) })
      next.push(path)
    } else if (known.depth === depth) {
      known.via.add(via)
      if (name !== undefined && known.names.size < NAMES_PER_FILE) known.names.add(name)
    }
  }
  return { reach, next, capped: () => capped }
}

/**
 * Impact, breadth first from the files reached at `fromDepth - 1`: each step reaches the files that import a
 * file of the previous step, and those that call (by name) a function, method or class defined in one. Files
 * keep their smallest depth. Bounded: `maxFiles` files, and per step MAX_STEP_EDGES imports, MAX_STEP_NAMES
 * names and MAX_STEP_CALLS calls; `truncated` when a bound stopped it.
 */
export const walkImpact = (
  reader: NavigationReader,
  repositoryId: string,
  reached: Map<string, Reached>,
  fromDepth: number,
  toDepth: number,
  maxFiles: number
) =>
  Effect.gen(function*() {
    let truncated = false
    const at = reacher(reached, maxFiles)
    let frontier = [...reached].filter(([, r]) => r.depth === fromDepth - 1).map(([path]) => path)
    for (let depth = fromDepth; depth <= toDepth && frontier.length > 0; depth++) {
      const step = at(depth)
      const importers = yield* NavigationStore.importersOf(reader, repositoryId, frontier, MAX_STEP_EDGES + 1)
      if (importers.length > MAX_STEP_EDGES) truncated = true
      for (const edge of importers.slice(0, MAX_STEP_EDGES)) step.reach(edge.path, "import")
      const names = yield* NavigationStore.callableNamesIn(reader, repositoryId, frontier, MAX_STEP_NAMES + 1)
      if (names.length > MAX_STEP_NAMES) truncated = true
      if (names.length > 0) {
        const calls = yield* NavigationStore.referencingFiles(
          reader,
          repositoryId,
          names.slice(0, MAX_STEP_NAMES),
          true,
          MAX_STEP_CALLS + 1
        )
        if ((calls[0]?.read ?? 0) > MAX_STEP_CALLS) truncated = true
        for (const call of calls) step.reach(call.path, "call", call.name)
      }
      if (step.capped()) truncated = true
      frontier = step.next
    }
    return truncated
  })
