import type { Node } from "web-tree-sitter"

// Ruby's tags.scm reports every bare identifier as a call unless it is a local variable
// (`#is-not? local`), a test web-tree-sitter leaves to us: a bare `name` is a method call
// unless the name was assigned or is a parameter in a scope it can see.
const SCOPES = new Set([
  "program",
  "class",
  "module",
  "singleton_class",
  "method",
  "singleton_method",
  "block",
  "do_block",
  "lambda"
])
/** Locals do not cross these; blocks and lambdas see their outer scope's. */
const CLOSED = new Set(["program", "class", "module", "singleton_class", "method", "singleton_method"])
const PARAMETERS = new Set([
  "method_parameters",
  "block_parameters",
  "lambda_parameters",
  "optional_parameter",
  "keyword_parameter",
  "splat_parameter",
  "hash_splat_parameter",
  "block_parameter",
  "destructured_parameter",
  "left_assignment_list",
  "rest_assignment",
  "exception_variable"
])

const cache = new WeakMap<object, Map<number, ReadonlySet<string>>>()

const declared = (scope: Node, into: Set<string>, top: boolean) => {
  if (!top && SCOPES.has(scope.type)) return
  const type = scope.type
  if (type === "assignment" || type === "operator_assignment") {
    const left = scope.childForFieldName("left")
    if (left?.type === "identifier") into.add(left.text)
  } else if (type === "for") {
    const pattern = scope.childForFieldName("pattern")
    if (pattern?.type === "identifier") into.add(pattern.text)
  } else if (PARAMETERS.has(type)) {
    for (const child of scope.namedChildren) if (child?.type === "identifier") into.add(child.text)
    const name = scope.childForFieldName("name")
    if (name?.type === "identifier") into.add(name.text)
  }
  for (const child of scope.namedChildren) if (child !== null) declared(child, into, false)
}

const localsOf = (scope: Node): ReadonlySet<string> => {
  let perTree = cache.get(scope.tree)
  if (perTree === undefined) {
    perTree = new Map()
    cache.set(scope.tree, perTree)
  }
  let names = perTree.get(scope.id)
  if (names === undefined) {
    const into = new Set<string>()
    declared(scope, into, true)
    names = into
    perTree.set(scope.id, names)
  }
  return names
}

/** Whether a bare Ruby identifier names a local variable rather than calling a method. */
export const isRubyLocal = (node: Node): boolean => {
  if (node.type !== "identifier") return false
  const name = node.text
  for (let scope = node.parent; scope !== null; scope = scope.parent) {
    if (!SCOPES.has(scope.type)) continue
    if (localsOf(scope).has(name)) return true
    if (CLOSED.has(scope.type)) return false
  }
  return false
}
