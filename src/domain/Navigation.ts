import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Schema from "effect/Schema"
import { REFERENCE_KINDS, SYMBOL_KINDS } from "../symbols/Extraction.js"
import { RepositoryId } from "./Repository.js"
import { languageNamed } from "./SearchQuery.js"
import { Text } from "./Text.js"

/** Every navigation answer says how it was found: by name, not by type resolution. */
export const Resolution = Schema.Literal("name-match")

export const SymbolKind = Schema.Literal(...SYMBOL_KINDS)
export type SymbolKind = typeof SymbolKind.Type
export const ReferenceKind = Schema.Literal(...REFERENCE_KINDS)
export type ReferenceKind = typeof ReferenceKind.Type

/** A path inside a repository, as the index stores it. */
export const FilePath = Text.pipe(
  Schema.minLength(1, { message: () => "path must not be empty" }),
  Schema.maxLength(4096)
).annotations({ description: "A file's path in the repository, e.g. `src/index.ts`." })

/** A symbol's name: what definitions, references and callers look up exactly. */
export const SymbolName = Text.pipe(
  Schema.minLength(1, { message: () => "name must not be empty" }),
  Schema.maxLength(500),
  Schema.pattern(/^[^\r\n]*$/, { message: () => "name must be a single line" })
)

const Limit = (max: number, description: string) =>
  Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, max)).annotations({ description }))
const Cursor = Schema.optional(
  Text.pipe(Schema.maxLength(8192)).annotations({ description: "next_cursor from the previous page." })
)

/** A Linguist language name or alias (`typescript`, `ts`, `Go`), as the `Language` it names. */
export const LanguageName = Text.pipe(
  Schema.maxLength(100),
  Schema.filter((value) => languageNamed(value) !== undefined, { message: () => "lang: unknown language" })
).annotations({ description: "A Linguist language name or alias, case-insensitive (`typescript`, `ts`, `Go`)." })

const SymbolQuery = Text.pipe(
  Schema.minLength(1, { message: () => "q must not be empty" }),
  Schema.maxLength(200),
  Schema.pattern(/^[^\r\n]*$/, { message: () => "q must be a single line" })
)

const symbolSearchFields = {
  q: Schema.optional(SymbolQuery.annotations({
    description: "Part of a definition's name, case-insensitive: names equal to it first, then names starting " +
      "with it, then names containing it (one or two characters: only equal and starting). `*` lists every " +
      "definition by name."
  })),
  pattern: Schema.optional(SymbolQuery.annotations({ description: "The original API's name for `q`." })),
  kind: Schema.optional(SymbolKind),
  symbol_type: Schema.optional(SymbolKind.annotations({ description: "The original API's name for `kind`." })),
  lang: Schema.optional(LanguageName),
  repository_id: Schema.optional(RepositoryId)
}

export const SymbolSearchParams = Schema.Struct({
  ...symbolSearchFields,
  limit: Limit(100, "Definitions per page (1–100, default 20)."),
  cursor: Cursor
})

/** `POST /api/v1/search/symbols`: the same parameters as a JSON body. */
export const SymbolSearchPayload = Schema.Struct({
  ...symbolSearchFields,
  limit: Schema.optional(Schema.Int.pipe(Schema.between(1, 100))),
  cursor: Schema.optional(Text.pipe(Schema.maxLength(8192)))
})

export const SymbolLocation = Schema.Struct({
  repository_id: RepositoryId,
  path: Schema.String,
  language: Schema.String,
  name: Schema.String,
  kind: Schema.String,
  /** 1-based. */
  line: Schema.Number,
  /** 1-based UTF-16 column of the name. */
  column: Schema.Number,
  end_line: Schema.Number,
  end_column: Schema.Number,
  /** The enclosing class, module or type, when there is one. */
  container: Schema.NullOr(Schema.String),
  /** The definition's first line, trimmed. */
  signature: Schema.String
})
export type SymbolLocation = typeof SymbolLocation.Type

export const SymbolSearchResults = Schema.Struct({
  symbols: Schema.Array(SymbolLocation),
  next_cursor: Schema.NullOr(Schema.String),
  resolution: Resolution
})

/** `lines=a-b` or `lines=a`: 1-based, inclusive. */
export const LineRange = Text.pipe(
  Schema.pattern(/^[1-9][0-9]{0,8}(-[1-9][0-9]{0,8})?$/, {
    message: () => "lines is a-b (1-based, inclusive) or one line number"
  }),
  Schema.filter((value) => {
    const [from, to = from] = value.split("-").map(Number)
    return to! >= from! || "lines: the end comes before the start"
  })
)

export const parseLineRange = (value: string) => {
  const [from, to = from] = value.split("-").map(Number)
  return { from: from!, to: to! }
}

export const FileParams = Schema.Struct({
  lines: Schema.optional(LineRange.annotations({
    description: "Only these lines: `a-b` (1-based, inclusive) or `a`; a range past the end stops at the end."
  }))
})

export const FileContent = Schema.Struct({
  repository_id: RepositoryId,
  path: Schema.String,
  language: Schema.NullOr(Schema.String),
  size_bytes: Schema.Number,
  line_count: Schema.Number,
  /** The commit the index holds. */
  commit: Schema.NullOr(Schema.String),
  /** The lines in `content`: `start_line` to `end_line`, 1-based and inclusive. */
  start_line: Schema.Number,
  end_line: Schema.Number,
  content: Schema.String,
  /** True when `content` stops before the range (or the file) ends: ask for the rest with `lines`. */
  truncated: Schema.Boolean,
  resolution: Resolution
})

export const PathParams = Schema.Struct({ path: FilePath })

export interface OutlineNode {
  readonly name: string
  readonly kind: string
  readonly line: number
  readonly column: number
  readonly end_line: number
  readonly end_column: number
  readonly container: string | null
  readonly signature: string
  readonly children: ReadonlyArray<OutlineNode>
}

export const OutlineNode: Schema.Schema<OutlineNode> = Schema.Struct({
  name: Schema.String,
  kind: Schema.String,
  line: Schema.Number,
  column: Schema.Number,
  end_line: Schema.Number,
  end_column: Schema.Number,
  container: Schema.NullOr(Schema.String),
  signature: Schema.String,
  children: Schema.Array(Schema.suspend((): Schema.Schema<OutlineNode> => OutlineNode))
}).annotations({ identifier: "OutlineNode" })

export const Outline = Schema.Struct({
  repository_id: RepositoryId,
  path: Schema.String,
  language: Schema.NullOr(Schema.String),
  /** Top-level definitions; each holds the definitions inside its range (or naming it as their container). */
  symbols: Schema.Array(OutlineNode),
  /** True when the file has more definitions than an outline lists. */
  truncated: Schema.Boolean,
  resolution: Resolution
})

export const DefinitionsParams = Schema.Struct({
  name: SymbolName.annotations({ description: "The exact name (case-sensitive)." }),
  path: Schema.optional(FilePath.annotations({
    description: "The file asking: definitions in it come first, then those in the files it imports."
  })),
  limit: Limit(200, "Definitions per page (1–200, default 50)."),
  cursor: Cursor
})

export const Definition = Schema.Struct({
  ...SymbolLocation.fields,
  /** Where it is from the `path` asked about: in it, in a file it imports, or elsewhere. */
  relation: Schema.Literal("same_file", "imported", "other")
})

export const Definitions = Schema.Struct({
  name: Schema.String,
  definitions: Schema.Array(Definition),
  next_cursor: Schema.NullOr(Schema.String),
  resolution: Resolution
})

export const ReferencesParams = Schema.Struct({
  name: SymbolName.annotations({ description: "The exact name (case-sensitive)." }),
  kind: Schema.optional(ReferenceKind),
  limit: Limit(500, "References per page (1–500, default 100)."),
  cursor: Cursor
})

export const Reference = Schema.Struct({
  repository_id: RepositoryId,
  path: Schema.String,
  name: Schema.String,
  kind: Schema.String,
  line: Schema.Number,
  column: Schema.Number,
  /** The innermost definition the reference is in; null at the top level of the file. */
  enclosing: Schema.NullOr(Schema.String)
})

export const References = Schema.Struct({
  name: Schema.String,
  references: Schema.Array(Reference),
  next_cursor: Schema.NullOr(Schema.String),
  resolution: Resolution
})

export const CallersParams = Schema.Struct({
  name: SymbolName.annotations({ description: "The called name (exact, case-sensitive)." }),
  limit: Limit(200, "Callers (groups) per page (1–200, default 50)."),
  cursor: Cursor
})

export const CallerDefinition = Schema.Struct({
  kind: Schema.String,
  line: Schema.Number,
  column: Schema.Number,
  end_line: Schema.Number,
  signature: Schema.String
})

export const Caller = Schema.Struct({
  repository_id: RepositoryId,
  path: Schema.String,
  /** The definition the calls are in, by name; null for calls at the top level of the file. */
  caller: Schema.NullOr(Schema.String),
  /** That definition in the same file, when one with that name holds the calls. */
  definition: Schema.NullOr(CallerDefinition),
  /** The calls (at most 100 listed; `call_count` has them all). */
  calls: Schema.Array(Schema.Struct({ line: Schema.Number, column: Schema.Number })),
  call_count: Schema.Number
})

export const Callers = Schema.Struct({
  name: Schema.String,
  callers: Schema.Array(Caller),
  next_cursor: Schema.NullOr(Schema.String),
  resolution: Resolution
})

export const Direction = Schema.Literal("dependencies", "dependents")

export const DependenciesParams = Schema.Struct({
  path: FilePath,
  direction: Schema.optional(Direction.annotations({
    description: "dependencies (the files it imports, default) or dependents (the files importing it)."
  })),
  depth: Schema.optional(
    Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 5)).annotations({
      description: "How many import steps to follow (1–5, default 1)."
    })
  )
})

export const DependencyGraph = Schema.Struct({
  repository_id: RepositoryId,
  path: Schema.String,
  direction: Direction,
  depth: Schema.Number,
  /** The files found at each depth (1 = direct); each file once, at its smallest depth. */
  levels: Schema.Array(Schema.Struct({ depth: Schema.Number, paths: Schema.Array(Schema.String) })),
  /** Import edges among the files found: `from` imports `to`. */
  edges: Schema.Array(Schema.Struct({ from: Schema.String, to: Schema.String })),
  /** Import cycles among them, each as a path list that starts and ends with the same file. */
  cycles: Schema.Array(Schema.Array(Schema.String)),
  /** The file's own imports that resolve to no file in the repository (packages, the standard library). */
  unresolved: Schema.Array(Schema.Struct({ module: Schema.String, line: Schema.Number })),
  /** True when the walk stopped at its cap on files (the deepest level is then partial). */
  truncated: Schema.Boolean,
  resolution: Resolution
})

export const ImpactPayload = Schema.Struct({
  paths: Schema.Array(FilePath).pipe(Schema.minItems(1), Schema.maxItems(100)).annotations({
    description: "The files that change (1–100)."
  }),
  depth: Schema.optional(
    Schema.Int.pipe(Schema.between(1, 5)).annotations({
      description: "How many steps to follow (1–5, default 3)."
    })
  )
})

export const ImpactedFile = Schema.Struct({
  repository_id: RepositoryId,
  path: Schema.String,
  /** Steps from the changed files (0: a changed file itself, or a file defining the symbol). */
  depth: Schema.Number,
  /** How it was reached: it imports a file of the previous step, or calls (by name) a function defined there. */
  via: Schema.Array(Schema.Literal("import", "call", "reference", "definition")),
  /** Some of the names it calls that are defined in the previous step's files. */
  names: Schema.Array(Schema.String)
})

export const Impact = Schema.Struct({
  paths: Schema.Array(Schema.String),
  depth: Schema.Number,
  files: Schema.Array(ImpactedFile),
  /** True when a step stopped at a cap (on files, or on the calls read for one step). */
  truncated: Schema.Boolean,
  resolution: Resolution
})

export const SymbolImpactParams = Schema.Struct({
  repository_id: Schema.optional(RepositoryId),
  max_depth: Schema.optional(
    Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 5)).annotations({
      description: "Steps to follow after the files that use the symbol (1–5, default 2)."
    })
  ),
  limit: Limit(1000, "At most this many files (1–1000, default 200).")
})

export const SymbolImpact = Schema.Struct({
  symbol: Schema.String,
  depth: Schema.Number,
  files: Schema.Array(ImpactedFile),
  truncated: Schema.Boolean,
  resolution: Resolution
})

export const OverviewParams = Schema.Struct({
  limit: Limit(50, "How many of the most referenced symbols (1–50, default 10)."),
  top_symbols_limit: Limit(50, "The original API's name for `limit`.")
})

export const CodebaseOverviewParams = Schema.Struct({
  ...OverviewParams.fields,
  repository_id: Schema.optional(RepositoryId)
})

export const Overview = Schema.Struct({
  /** Null for `GET /api/v1/codebase-overview` without `repository_id`: the caller's repositories together. */
  repository_id: Schema.NullOr(RepositoryId),
  repositories: Schema.Number,
  /** The commit the index holds (one repository only). */
  commit: Schema.NullOr(Schema.String),
  file_count: Schema.Number,
  symbol_count: Schema.Number,
  reference_count: Schema.Number,
  languages: Schema.Array(Schema.Struct({
    language: Schema.NullOr(Schema.String),
    files: Schema.Number,
    lines: Schema.Number,
    bytes: Schema.Number
  })),
  symbol_kinds: Schema.Array(Schema.Struct({ kind: Schema.String, count: Schema.Number })),
  /** Defined names with the most references to them (by name), counted over `references_read` references. */
  most_referenced: Schema.Array(Schema.Struct({
    name: Schema.String,
    kind: Schema.String,
    references: Schema.Number,
    definitions: Schema.Number,
    /** One of its definitions. */
    repository_id: RepositoryId,
    path: Schema.String,
    line: Schema.Number
  })),
  /**
   * False for a repository too large to count in one request (over 1,000,000 files, symbols or references):
   * the counts stopped at that cap, so they are lower bounds, and `most_referenced` ranks the references
   * read, the first million in name order.
   */
  counts_exact: Schema.Boolean,
  references_read: Schema.Number,
  resolution: Resolution
})

export class FileNotFound extends Schema.TaggedError<FileNotFound>()("FileNotFound", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 404 })) {}

export class LineRangeOutsideFile extends Schema.TaggedError<LineRangeOutsideFile>()("LineRangeOutsideFile", {
  message: Schema.String,
  line_count: Schema.Number
}, HttpApiSchema.annotations({ status: 400 })) {}

export const FileSymbols = Schema.Struct({
  path: Schema.String,
  symbols: Schema.Array(SymbolLocation),
  /** True when a file has more definitions than an answer lists. */
  truncated: Schema.Boolean,
  resolution: Resolution
})
