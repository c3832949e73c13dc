import * as Effect from "effect/Effect"
import type { Edge } from "../stores/NavigationStore.js"
import { NavigationStore } from "../stores/NavigationStore.js"
import type { NavigationReader } from "../stores/NavigationStore.js"
import { compare, findCycles } from "./Cycles.js"

/** Files a dependency graph holds at most (the root aside). */
export const MAX_GRAPH_FILES = 500
/** Import edges read per step at most. */
export const MAX_STEP_EDGES = 5000
const MAX_CYCLES = 50

const keyOf = (edge: { readonly from: string; readonly to: string }) => `${edge.from}\u0000${edge.to}`

/**
 * The import graph around one file, breadth first: what it imports (or what imports it), `depth` steps out,
 * each file at its smallest depth, with the edges among the files found and the cycles they close. Bounded:
 * MAX_GRAPH_FILES files and MAX_STEP_EDGES edges per step, `truncated` when either stopped the walk.
 */
export const walkDependencies = (
  reader: NavigationReader,
  repositoryId: string,
  root: string,
  direction: "dependencies" | "dependents",
  depth: number
) =>
  Effect.gen(function*() {
    const depthOf = new Map<string, number>([[root, 0]])
    const edges = new Map<string, { from: string; to: string }>()
    const step = (paths: ReadonlyArray<string>) =>
      direction === "dependencies"
        ? NavigationStore.importsOf(reader, repositoryId, paths, MAX_STEP_EDGES + 1)
        : NavigationStore.importersOf(reader, repositoryId, paths, MAX_STEP_EDGES + 1)
    const found = (edge: Edge) => direction === "dependencies" ? edge.resolved_path : edge.path
    let truncated = false
    let frontier: ReadonlyArray<string> = [root]
    for (let d = 1; d <= depth && frontier.length > 0; d++) {
      const rows = yield* step(frontier)
      if (rows.length > MAX_STEP_EDGES) truncated = true
      const next: Array<string> = []
      for (const row of rows.slice(0, MAX_STEP_EDGES)) {
        const file = found(row)
        if (!depthOf.has(file)) {
          if (depthOf.size > MAX_GRAPH_FILES) {
            truncated = true
            continue
          }
          depthOf.set(file, d)
          next.push(file)
        }
        const edge = { from: row.path, to: row.resolved_path }
        edges.set(keyOf(edge), edge)
      }
      frontier = next
    }
    // The deepest files' own edges back into the graph close cycles too.
    if (frontier.length > 0) {
      for (const row of (yield* step(frontier)).slice(0, MAX_STEP_EDGES)) {
        if (depthOf.has(found(row))) {
          const edge = { from: row.path, to: row.resolved_path }
          edges.set(keyOf(edge), edge)
        }
      }
    }
    const kept = [...edges.values()]
      .filter((edge) => depthOf.has(edge.from) && depthOf.has(edge.to))
      .sort((a, b) => compare(a.from, b.from) || compare(a.to, b.to))
    const levels: Array<{ depth: number; paths: Array<string> }> = []
    for (const [file, d] of depthOf) {
      if (d === 0) continue
      ;(levels[d - 1] ??= { depth: d, paths: [] }).paths.push(file)
    }
    for (const level of levels) level.paths.sort()
    return {
      levels: levels.filter((level) => level !== undefined),
      edges: kept,
      cycles: findCycles(kept, MAX_CYCLES),
      truncated
    }
  })
