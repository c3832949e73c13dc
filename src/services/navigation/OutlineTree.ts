import type { OutlineNode } from "../../domain/Navigation.js"
import type { SymbolRow } from "../stores/NavigationStore.js"

interface Building {
  readonly row: SymbolRow
  readonly children: Array<Building>
}

/** Kinds whose definitions may hold others declared outside their range (Go methods, Rust impls). */
const HOLDERS = new Set(["class", "interface", "type", "enum", "module"])

const contains = (outer: SymbolRow, inner: SymbolRow) =>
  (outer.line < inner.line || (outer.line === inner.line && outer.col <= inner.col)) &&
  (outer.end_line > inner.end_line || (outer.end_line === inner.end_line && outer.end_col >= inner.end_col))

const toNode = (node: Building): OutlineNode => ({
  name: node.row.name,
  kind: node.row.kind,
  line: node.row.line,
  column: node.row.col,
  end_line: node.row.end_line,
  end_column: node.row.end_col,
  container: node.row.container,
  signature: node.row.signature,
  children: node.children.map(toNode)
})

/**
 * A file's symbols as a tree: each under the innermost symbol whose range holds it; a symbol no range holds
 * goes under the top-level class, type or module its `container` names (a Go method under its type), if the
 * file has one; the rest are the top level. Siblings in source order.
 */
export const outlineTree = (rows: ReadonlyArray<SymbolRow>): ReadonlyArray<OutlineNode> => {
  const nodes: Array<Building> = rows
    .map((row) => ({ row, children: [] }))
    .sort((a, b) =>
      a.row.line - b.row.line || a.row.col - b.row.col || b.row.end_line - a.row.end_line ||
      b.row.end_col - a.row.end_col || a.row.ordinal - b.row.ordinal
    )
  const stack: Array<Building> = []
  const roots: Array<Building> = []
  for (const node of nodes) {
    while (stack.length > 0 && !contains(stack[stack.length - 1]!.row, node.row)) stack.pop()
    const parent = stack[stack.length - 1]
    if (parent === undefined) roots.push(node)
    else parent.children.push(node)
    stack.push(node)
  }
  const holders = new Map<string, Building>()
  for (const root of roots) {
    if (HOLDERS.has(root.row.kind) && root.row.container === null && !holders.has(root.row.name)) {
      holders.set(root.row.name, root)
    }
  }
  const top: Array<Building> = []
  for (const root of roots) {
    const holder = root.row.container === null ? undefined : holders.get(root.row.container)
    if (holder !== undefined && holder !== root) holder.children.push(root)
    else top.push(root)
  }
  const bySource = (a: Building, b: Building) => a.row.line - b.row.line || a.row.col - b.row.col
  for (const holder of holders.values()) holder.children.sort(bySource)
  return top.map(toNode)
}
