export type SymbolKind =
  | "function"
  | "method"
  | "class"
  | "interface"
  | "type"
  | "enum"
  | "module"
  | "constant"
  | "variable"
  | "field"
  | "constructor"
  | "macro"
export type ReferenceKind = "call" | "type" | "inherit" | "import" | "other"
export interface ExtractedSymbol {
  readonly name: string
  readonly kind: SymbolKind
  readonly line: number
  readonly column: number
  readonly endLine: number
  readonly endColumn: number
  readonly container: string | null
  readonly signature: string
}
export interface ExtractedReference {
  readonly name: string
  readonly kind: ReferenceKind
  readonly line: number
  readonly column: number
  readonly enclosing: string | null
}
export interface ExtractedImport {
  readonly module: string
  readonly line: number
}
export interface Extraction {
  readonly symbols: ReadonlyArray<ExtractedSymbol>
  readonly references: ReadonlyArray<ExtractedReference>
  readonly imports: ReadonlyArray<ExtractedImport>
}
export type ExtractionOutcome =
  | { readonly _tag: "Extracted"; readonly extraction: Extraction; readonly parseErrors: boolean }
  | { readonly _tag: "Skipped"; readonly reason: "unsupported_language" | "too_large" }
  | { readonly _tag: "Failed"; readonly reason: "timeout" | "crash"; readonly message: string }
