import { readFileSync } from "node:fs"
import type { Node, QueryMatch } from "web-tree-sitter"
import { Language, Parser, Query } from "web-tree-sitter"
import { blankDeclarationMacros } from "./CMacros.js"
import type {
  ExtractedImport,
  ExtractedReference,
  ExtractedSymbol,
  ExtractionOutcome,
  ReferenceKind,
  SymbolKind
} from "./Extraction.js"
import { SYMBOL_KINDS } from "./Extraction.js"
import { COMPILER_LANGUAGES, LANGUAGES } from "./Languages.js"
import { isRubyLocal } from "./RubyLocals.js"
import type * as TypeScriptSyntax from "./TypeScriptSyntax.js"

const SIGNATURE_CHARS = 200
const NAME_CHARS = 200

const DEFINITION_KINDS: ReadonlySet<string> = new Set<string>(SYMBOL_KINDS)

const CONSTRUCTIONS = new Set(["new_expression", "object_creation_expression"])
const BASES = new Set(["superclass", "base_list", "base_clause", "class_heritage", "extends_clause"])

/** The stock queries' reference captures say what is referenced; we say how. */
const referenceKind = (capture: string, reference: Node, name: Node): ReferenceKind => {
  switch (capture) {
    case "call":
    case "send":
      return "call"
    case "type":
    case "inherit":
    case "import":
      return capture
    case "implementation":
    case "interface":
      return "inherit"
    case "class":
      if (CONSTRUCTIONS.has(reference.type)) return "call"
      return BASES.has(reference.type) || BASES.has(name.parent?.type ?? "") ? "inherit" : "type"
    default:
      return "other"
  }
}

const unquote = (text: string) => text.replace(/^(["'`<])([\s\S]*)(["'`>])$/, "$2").trim()

const lineOf = (text: string, index: number) => {
  const start = text.lastIndexOf("\n", index - 1) + 1
  const end = text.indexOf("\n", index)
  return text.slice(start, end === -1 ? text.length : end).trim().slice(0, SIGNATURE_CHARS)
}

interface Definition {
  readonly pattern: number
  readonly name: Node
  readonly node: Node
  readonly kind: SymbolKind
  readonly container: string | null
}

interface Reference {
  readonly pattern: number
  readonly name: Node
  readonly kind: ReferenceKind
}

interface Loaded {
  readonly language: Language
  readonly query: Query
  /** Patterns carrying `(#is-not? local)`, which the bindings report but do not apply. */
  readonly nonLocal: ReadonlySet<number>
}

/** Definitions sorted so that a container comes before what it contains. */
interface Span {
  readonly start: number
  readonly end: number
  readonly name: string
}

/** The innermost span containing each position (positions ascending); spans nest as a syntax tree does. */
const innermost = (spans: ReadonlyArray<Span>, positions: ReadonlyArray<number>): Array<string | null> => {
  const stack: Array<Span> = []
  const out: Array<string | null> = []
  let i = 0
  for (const at of positions) {
    while (i < spans.length && spans[i]!.start <= at) {
      const next = spans[i]!
      while (stack.length > 0 && stack[stack.length - 1]!.end <= next.start) stack.pop()
      stack.push(next)
      i++
    }
    while (stack.length > 0 && stack[stack.length - 1]!.end <= at) stack.pop()
    out.push(stack.length > 0 ? stack[stack.length - 1]!.name : null)
  }
  return out
}

/**
 * Extracts symbols, references and imports from one file at a time with one reused parser. Trees are
 * deleted after each file, since wasm memory only grows; the caller recycles the whole extractor
 * (its thread) after a number of files to give that memory back. tree-sitter and the TypeScript
 * compiler are each loaded on first use, so a thread that sees one kind of file holds only its parser.
 */
export class Extractor {
  private parser: Promise<Parser> | undefined
  private compiler: Promise<typeof TypeScriptSyntax> | undefined
  private readonly loaded = new Map<string, Promise<Loaded>>()
  /** Languages whose parser has loaded. */
  private readonly ready = new Set<string | null>()

  private constructor() {}

  static async make(): Promise<Extractor> {
    return new Extractor()
  }

  private treeSitter(): Promise<Parser> {
    return this.parser ??= Parser.init().then(() => new Parser())
  }

  private load(name: string): Promise<Loaded> | undefined {
    const spec = LANGUAGES.get(name)
    if (spec === undefined) return undefined
    let loaded = this.loaded.get(name)
    if (loaded === undefined) {
      loaded = this.treeSitter().then(() => Language.load(spec.wasm)).then((language) => {
        const source = spec.queries.map((path) => readFileSync(path, "utf8")).join("\n")
        const query = new Query(language, source)
        const nonLocal = new Set<number>()
        query.refutedProperties.forEach((properties, pattern) => {
          if (properties !== undefined && "local" in properties) nonLocal.add(pattern)
        })
        return { language, query, nonLocal }
      })
      this.loaded.set(name, loaded)
    }
    return loaded
  }

  /** Whether what `language` is parsed with has loaded, or there is nothing to load for it. */
  prepared(language: string | null): boolean {
    return this.ready.has(language) || language === null ||
      (!COMPILER_LANGUAGES.has(language) && !LANGUAGES.has(language))
  }

  /** Loads what `language` is parsed with (a grammar, or the TypeScript compiler), once per extractor. */
  async prepare(language: string | null): Promise<void> {
    if (language !== null && COMPILER_LANGUAGES.has(language)) {
      await (this.compiler ??= import("./TypeScriptSyntax.js"))
    } else {
      await (language === null ? undefined : this.load(language))
    }
    this.ready.add(language)
  }

  async extract(language: string | null, text: string): Promise<ExtractionOutcome> {
    if (language !== null && COMPILER_LANGUAGES.has(language)) {
      this.compiler ??= import("./TypeScriptSyntax.js")
      return (await this.compiler).extractTypeScript(language, text)
    }
    const loading = language === null ? undefined : this.load(language)
    if (loading === undefined) return { _tag: "Skipped", reason: "unsupported_language" }
    const loaded = await loading
    const parser = await this.treeSitter()
    parser.setLanguage(loaded.language)
    const source = language === "C" || language === "C++" ? blankDeclarationMacros(text) : text
    const tree = parser.parse(source)
    if (tree === null) return { _tag: "Failed", reason: "crash", message: "the parser returned no tree" }
    try {
      const matches = loaded.query.matches(tree.rootNode)
      return {
        _tag: "Extracted",
        extraction: collect(matches, loaded, text),
        parseErrors: tree.rootNode.hasError
      }
    } finally {
      tree.delete()
    }
  }

  delete(): void {
    void this.parser?.then((parser) => parser.delete())
  }
}

const collect = (matches: ReadonlyArray<QueryMatch>, loaded: Loaded, text: string) => {
  const definitions = new Map<number, Definition>()
  const references = new Map<number, Reference>()
  const imports = new Map<number, ExtractedImport>()
  for (const match of matches) {
    let name: Node | undefined
    let container: Node | undefined
    let definition: { readonly kind: string; readonly node: Node } | undefined
    let reference: { readonly kind: string; readonly node: Node } | undefined
    for (const capture of match.captures) {
      const c = capture.name
      if (c === "name") name = capture.node
      else if (c === "container") container = capture.node
      else if (c.startsWith("definition.")) definition = { kind: c.slice(11), node: capture.node }
      else if (c.startsWith("reference.")) reference = { kind: c.slice(10), node: capture.node }
      else if (c === "import.module" && !imports.has(capture.node.startIndex)) {
        const module = unquote(capture.node.text)
        if (module !== "") {
          imports.set(capture.node.startIndex, { module, line: capture.node.startPosition.row + 1 })
        }
      }
    }
    if (name === undefined) continue
    const pattern = match.patternIndex
    if (definition !== undefined && DEFINITION_KINDS.has(definition.kind)) {
      const known = definitions.get(name.startIndex)
      if (known === undefined || known.pattern > pattern) {
        definitions.set(name.startIndex, {
          pattern,
          name,
          node: definition.node,
          kind: definition.kind as SymbolKind,
          container: container === undefined ? null : container.text
        })
      }
    } else if (reference !== undefined) {
      if (loaded.nonLocal.has(pattern) && isRubyLocal(name)) continue
      const known = references.get(name.startIndex)
      if (known === undefined || known.pattern > pattern) {
        references.set(name.startIndex, { pattern, name, kind: referenceKind(reference.kind, reference.node, name) })
      }
    }
  }

  const defs = [...definitions.values()].sort((a, b) =>
    a.node.startIndex - b.node.startIndex || b.node.endIndex - a.node.endIndex
  )
  const spans: Array<Span> = defs.map((d) => ({ start: d.node.startIndex, end: d.node.endIndex, name: d.name.text }))
  const symbols: Array<ExtractedSymbol> = []
  const open: Array<Span> = []
  defs.forEach((d, i) => {
    const span = spans[i]!
    while (open.length > 0 && open[open.length - 1]!.end < span.end) open.pop()
    // Several names may share one definition node (`X, Y float64`): none contains the others.
    let inside: string | null = null
    for (let j = open.length - 1; j >= 0 && inside === null; j--) {
      if (open[j]!.start !== span.start || open[j]!.end !== span.end) inside = open[j]!.name
    }
    open.push(span)
    const start = d.name.startPosition
    const end = d.node.endPosition
    symbols.push({
      name: span.name.slice(0, NAME_CHARS),
      kind: d.kind,
      line: start.row + 1,
      column: start.column + 1,
      endLine: end.row + 1,
      endColumn: end.column + 1,
      container: d.container ?? inside,
      signature: lineOf(text, d.name.startIndex)
    })
  })

  const refs = [...references.values()]
    .filter((r) => !definitions.has(r.name.startIndex))
    .sort((a, b) => a.name.startIndex - b.name.startIndex)
  const enclosing = innermost(spans, refs.map((r) => r.name.startIndex))
  const referencesOut: Array<ExtractedReference> = refs.map((r, i) => ({
    name: r.name.text.slice(0, NAME_CHARS),
    kind: r.kind,
    line: r.name.startPosition.row + 1,
    column: r.name.startPosition.column + 1,
    enclosing: enclosing[i] ?? null
  }))

  return {
    symbols: symbols.sort((a, b) => a.line - b.line || a.column - b.column),
    references: referencesOut,
    imports: [...imports.values()].sort((a, b) => a.line - b.line)
  }
}
