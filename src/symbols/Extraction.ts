/** What code intelligence knows about one file: the contract between extraction and storage. */

/** The kinds of definition extraction writes; the API accepts the same list (`domain/Navigation.ts`). */
export const SYMBOL_KINDS = [
  "function",
  "method",
  "class",
  "interface",
  "type",
  "enum",
  "module",
  "constant",
  "variable",
  "field",
  "constructor",
  "macro"
] as const
export type SymbolKind = typeof SYMBOL_KINDS[number]

export const REFERENCE_KINDS = ["call", "type", "inherit", "import", "other"] as const
export type ReferenceKind = typeof REFERENCE_KINDS[number]

/** A definition. Positions are 1-based; columns count UTF-16 code units; the end is exclusive. */
export interface ExtractedSymbol {
  readonly name: string
  readonly kind: SymbolKind
  /** Where the name is. */
  readonly line: number
  readonly column: number
  /** Where the whole definition ends. */
  readonly endLine: number
  readonly endColumn: number
  /** The enclosing definition's name, e.g. the class of a method (Go and Rust: the receiver type). */
  readonly container: string | null
  /** The line the name is on, trimmed, at most 200 characters. */
  readonly signature: string
}

export interface ExtractedReference {
  readonly name: string
  readonly kind: ReferenceKind
  readonly line: number
  readonly column: number
  /** The name of the innermost enclosing definition, or null at top level. */
  readonly enclosing: string | null
}

export interface ExtractedImport {
  /** The module text as written, unquoted: "./util", "os.path", "fmt", "stdio.h". */
  readonly module: string
  readonly line: number
}

export interface Extraction {
  readonly symbols: ReadonlyArray<ExtractedSymbol>
  readonly references: ReadonlyArray<ExtractedReference>
  readonly imports: ReadonlyArray<ExtractedImport>
}

export type ExtractionOutcome =
  | {
    readonly _tag: "Extracted"
    readonly extraction: Extraction
    /** The tree had ERROR nodes; the partial result is still returned. */
    readonly parseErrors: boolean
  }
  | { readonly _tag: "Skipped"; readonly reason: "unsupported_language" | "too_large" | "disabled" }
  | { readonly _tag: "Failed"; readonly reason: "timeout" | "crash"; readonly message: string }

export interface ExtractionInput {
  readonly path: string
  readonly language: string | null
  readonly text: string
}

/**
 * Bumped when extraction changes what it finds: files indexed by an older version are extracted again on
 * the repository's next index.
 */
export const EXTRACTOR_VERSION = 2
