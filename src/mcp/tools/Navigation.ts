import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { z } from "zod"
import { Direction, FilePath, LanguageName, ReferenceKind, SymbolKind, SymbolName } from "../../domain/Navigation.js"
import { RepositoryId } from "../../domain/Repository.js"
import { Text } from "../../domain/Text.js"
import { CodeNavigation } from "../../services/CodeNavigation.js"
import type { CallingKey, Tool, ToolFailure } from "../Tool.js"
import { asToolFailure, decodeWith, defineTool, invalidArguments, text } from "../Tool.js"

const NAME_MATCH = "Found by name (resolution: name-match), not by type resolution: every definition with the " +
  "name counts, whatever its scope or language."
const PAGING = "When next_cursor is not null, call again with the same arguments and cursor=next_cursor."

const Cursor = Schema.optional(Text.pipe(Schema.maxLength(8192)))
const Limit = (max: number) => Schema.optional(Schema.Int.pipe(Schema.between(1, max)))

// Arguments checked again with the domain schemas the HTTP routes use, so both refuse the same values.
const decodeSearch = decodeWith(Schema.Struct({
  query: Text.pipe(Schema.minLength(1), Schema.maxLength(200), Schema.pattern(/^[^\r\n]*$/)),
  kind: Schema.optional(SymbolKind),
  language: Schema.optional(LanguageName),
  repository_id: Schema.optional(RepositoryId),
  limit: Limit(100),
  cursor: Cursor
}))
const decodeNamed = decodeWith(Schema.Struct({
  repository_id: RepositoryId,
  name: SymbolName,
  path: Schema.optional(FilePath),
  kind: Schema.optional(ReferenceKind),
  limit: Limit(500),
  cursor: Cursor
}))
const decodeFile = decodeWith(Schema.Struct({
  repository_id: RepositoryId,
  path: FilePath,
  start_line: Schema.optional(Schema.Int.pipe(Schema.positive())),
  end_line: Schema.optional(Schema.Int.pipe(Schema.positive()))
}))
const decodeGraph = decodeWith(Schema.Struct({
  repository_id: RepositoryId,
  path: FilePath,
  direction: Schema.optional(Direction),
  depth: Schema.optional(Schema.Int.pipe(Schema.between(1, 5)))
}))
const decodeImpact = decodeWith(Schema.Struct({
  repository_id: RepositoryId,
  paths: Schema.Array(FilePath).pipe(Schema.minItems(1), Schema.maxItems(100)),
  depth: Schema.optional(Schema.Int.pipe(Schema.between(1, 5)))
}))

const symbolKinds = SymbolKind.literals
const referenceKinds = ReferenceKind.literals

const repositoryId = z.uuid().describe("A repository_id from list_repositories")
const symbolName = text().min(1).max(500).describe("The exact name (case-sensitive)")
const filePath = text().min(1).max(4096).describe("A file's path in the repository, e.g. src/index.ts")
const cursor = text().max(8192).optional().describe("next_cursor from the previous page")
const resolution = z.literal("name-match")
const paged = { next_cursor: z.string().nullable(), resolution }

const symbolLocation = {
  repository_id: z.string(),
  path: z.string(),
  language: z.string(),
  name: z.string(),
  kind: z.string(),
  line: z.number(),
  column: z.number(),
  end_line: z.number(),
  end_column: z.number(),
  container: z.string().nullable(),
  signature: z.string()
}

interface OutlineNode {
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
const outlineNode: z.ZodType<OutlineNode> = z.object({
  name: z.string(),
  kind: z.string(),
  line: z.number(),
  column: z.number(),
  end_line: z.number(),
  end_column: z.number(),
  container: z.string().nullable(),
  signature: z.string(),
  get children() {
    return z.array(outlineNode)
  }
})

const impactedFile = z.object({
  repository_id: z.string(),
  path: z.string(),
  depth: z.number(),
  via: z.array(z.enum(["import", "call", "reference", "definition"])),
  names: z.array(z.string())
})

const plain = <A extends object>(value: A): Record<string, unknown> => ({ ...value }) as Record<string, unknown>

export const NavigationTools = Effect.gen(function*() {
  const navigation = yield* CodeNavigation
  /** A read-only tool: arguments decoded again with the route's schemas, then answered by `answer`. */
  const readTool = <I extends z.ZodRawShape, A, E extends { readonly _tag: string; readonly message: string }>(
    { answer, decode, ...tool }: Omit<Tool, "input" | "run" | "scope" | "annotations"> & {
      readonly input: I
      readonly decode: (args: unknown) => Effect.Effect<A, ToolFailure>
      readonly answer: (userId: CallingKey["userId"], input: A) => Effect.Effect<object, E | ToolFailure>
    }
  ) =>
    defineTool({
      ...tool,
      scope: "read",
      annotations: { readOnlyHint: true, openWorldHint: false },
      run: (args, key) =>
        decode(args).pipe(
          Effect.flatMap((input) => answer(key.userId, input)),
          Effect.map(plain),
          Effect.mapError(asToolFailure)
        )
    })
  return [
    readTool({
      name: "search_symbols",
      title: "Search symbols",
      description: "Find definitions (functions, methods, classes, interfaces, types, constants...) whose name " +
        "contains `query`, case-insensitive, in your repositories (or one, with repository_id): names equal to " +
        "it first, then names starting with it, then the rest. A query without three consecutive letters or " +
        "digits finds only names equal to it or starting with it. Each result is {repository_id, path, " +
        "language, name, kind, line, column, end_line, container, signature} (about 250 bytes); `limit` (1-100, " +
        `default 20) per page. ${PAGING} Follow up with get_file or get_outline on a result's path. ${NAME_MATCH}`,
      category: "search",
      input: {
        query: text().min(1).max(200).describe("Part of the name, e.g. createServer or User"),
        kind: z.enum(symbolKinds).optional().describe("Only this kind of definition"),
        language: text().max(100).optional().describe("Only this language: a name or alias such as go, ts, python"),
        repository_id: repositoryId.optional().describe("Only this repository (from list_repositories)"),
        limit: z.number().int().min(1).max(100).optional().describe("Definitions per page, default 20"),
        cursor
      },
      output: { symbols: z.array(z.object(symbolLocation)), ...paged },
      decode: decodeSearch,
      answer: (userId, input) =>
        navigation.searchSymbols(userId, {
          q: input.query,
          kind: input.kind,
          lang: input.language,
          repositoryId: input.repository_id,
          limit: input.limit,
          cursor: input.cursor
        })
    }),
    readTool({
      name: "find_definitions",
      title: "Find definitions",
      description: "Every definition named exactly `name` in one repository, with its file, line range, kind " +
        "and signature line. With `path` (the file you are reading), definitions in that file come first " +
        "(relation same_file), then those in the files it imports (imported), then the rest (other). " +
        `\`limit\` (1-200, default 50) per page. ${PAGING} ${NAME_MATCH}`,
      category: "navigation",
      input: {
        repository_id: repositoryId,
        name: symbolName,
        path: filePath.optional().describe("The file asking, e.g. the one where the name is used"),
        limit: z.number().int().min(1).max(200).optional().describe("Definitions per page, default 50"),
        cursor
      },
      output: {
        name: z.string(),
        definitions: z.array(z.object({
          ...symbolLocation,
          relation: z.enum(["same_file", "imported", "other"])
        })),
        ...paged
      },
      decode: decodeNamed,
      answer: (userId, input) =>
        navigation.definitions(userId, input.repository_id, {
          name: input.name,
          path: input.path,
          limit: input.limit,
          cursor: input.cursor
        })
    }),
    readTool({
      name: "find_references",
      title: "Find references",
      description: "Every use of the name `name` in one repository: calls, type uses, inheritance and " +
        "imports (`kind` for one of them), as {path, line, column, kind, enclosing} where enclosing is the " +
        "definition the use sits in (null at the top level). Ordered by path and position; `limit` (1-500, " +
        `default 100) per page. ${PAGING} ${NAME_MATCH}`,
      category: "navigation",
      input: {
        repository_id: repositoryId,
        name: symbolName,
        kind: z.enum(referenceKinds).optional().describe("Only this kind of use"),
        limit: z.number().int().min(1).max(500).optional().describe("References per page, default 100"),
        cursor
      },
      output: {
        name: z.string(),
        references: z.array(z.object({
          repository_id: z.string(),
          path: z.string(),
          name: z.string(),
          kind: z.string(),
          line: z.number(),
          column: z.number(),
          enclosing: z.string().nullable()
        })),
        ...paged
      },
      decode: decodeNamed,
      answer: (userId, input) =>
        navigation.references(userId, input.repository_id, {
          name: input.name,
          kind: input.kind,
          limit: input.limit,
          cursor: input.cursor
        })
    }),
    readTool({
      name: "find_callers",
      title: "Find callers",
      description: "Who calls `name` in one repository: the calls grouped by the definition they are in " +
        "({path, caller, definition: {kind, line, end_line, signature} or null, calls: [{line, column}], " +
        "call_count}); caller is null for calls at the top level of a file. `limit` (1-200, default 50) " +
        `callers per page. ${PAGING} ${NAME_MATCH}`,
      category: "navigation",
      input: {
        repository_id: repositoryId,
        name: symbolName.describe("The called name (exact, case-sensitive)"),
        limit: z.number().int().min(1).max(200).optional().describe("Callers per page, default 50"),
        cursor
      },
      output: {
        name: z.string(),
        callers: z.array(z.object({
          repository_id: z.string(),
          path: z.string(),
          caller: z.string().nullable(),
          definition: z.object({
            kind: z.string(),
            line: z.number(),
            column: z.number(),
            end_line: z.number(),
            signature: z.string()
          }).nullable(),
          calls: z.array(z.object({ line: z.number(), column: z.number() })),
          call_count: z.number()
        })),
        ...paged
      },
      decode: decodeNamed,
      answer: (userId, input) =>
        navigation.callers(userId, input.repository_id, {
          name: input.name,
          limit: input.limit,
          cursor: input.cursor
        })
    }),
    readTool({
      name: "get_file",
      title: "Get a file",
      description: "The text of one indexed file at the indexed commit (commit), with its language, size and " +
        "line count; start_line and end_line (1-based, inclusive) for part of it. At most 1,000,000 " +
        "characters per call: when truncated is true, call again with start_line = end_line + 1.",
      category: "navigation",
      input: {
        repository_id: repositoryId,
        path: filePath,
        start_line: z.number().int().min(1).optional().describe("First line, default 1"),
        end_line: z.number().int().min(1).optional().describe("Last line, default the end of the file")
      },
      output: {
        repository_id: z.string(),
        path: z.string(),
        language: z.string().nullable(),
        size_bytes: z.number(),
        line_count: z.number(),
        commit: z.string().nullable(),
        start_line: z.number(),
        end_line: z.number(),
        content: z.string(),
        truncated: z.boolean(),
        resolution
      },
      decode: decodeFile,
      answer: (userId, input) => {
        const from = input.start_line ?? 1
        if (input.end_line !== undefined && input.end_line < from) {
          return Effect.fail(invalidArguments("end_line comes before start_line"))
        }
        const lines = input.start_line === undefined && input.end_line === undefined
          ? null
          : { from, to: input.end_line ?? 2 ** 31 - 1 }
        return navigation.file(userId, input.repository_id, input.path, lines)
      }
    }),
    readTool({
      name: "get_outline",
      title: "Get a file's outline",
      description: "The definitions in one file as a tree ({name, kind, line, end_line, container, signature, " +
        "children}): classes with their methods and fields, functions, types. A cheap way to see what a file " +
        "holds before reading it with get_file.",
      category: "navigation",
      input: { repository_id: repositoryId, path: filePath },
      output: {
        repository_id: z.string(),
        path: z.string(),
        language: z.string().nullable(),
        symbols: z.array(outlineNode),
        truncated: z.boolean(),
        resolution
      },
      decode: decodeFile,
      answer: (userId, input) => navigation.outline(userId, input.repository_id, input.path)
    }),
    readTool({
      name: "dependencies",
      title: "File dependencies",
      description: "The import graph around one file: the files it imports (direction dependencies, default) " +
        "or the files importing it (dependents), `depth` (1-5, default 1) steps out, as levels by depth, the " +
        "import edges among them, the import cycles they close, and the file's imports that resolve to no " +
        "file of the repository (packages). At most 500 files (truncated).",
      category: "navigation",
      input: {
        repository_id: repositoryId,
        path: filePath,
        direction: z.enum(["dependencies", "dependents"]).optional().describe("Default dependencies"),
        depth: z.number().int().min(1).max(5).optional().describe("Import steps to follow, default 1")
      },
      output: {
        repository_id: z.string(),
        path: z.string(),
        direction: z.enum(["dependencies", "dependents"]),
        depth: z.number(),
        levels: z.array(z.object({ depth: z.number(), paths: z.array(z.string()) })),
        edges: z.array(z.object({ from: z.string(), to: z.string() })),
        cycles: z.array(z.array(z.string())),
        unresolved: z.array(z.object({ module: z.string(), line: z.number() })),
        truncated: z.boolean(),
        resolution
      },
      decode: decodeGraph,
      answer: (userId, input) =>
        navigation.dependencies(userId, input.repository_id, {
          path: input.path,
          direction: input.direction,
          depth: input.depth
        })
    }),
    readTool({
      name: "analyze_impact",
      title: "Analyze the impact of a change",
      description: "The files a change to `paths` may affect, by depth: files importing a changed file or " +
        "calling by name a function, method or class defined in one (depth 1), then the same from those " +
        "files, `depth` (1-5, default 3) steps out. Each file says how it was reached (via import or call) " +
        `and some of the names it calls. At most 1,000 files (truncated). ${NAME_MATCH}`,
      category: "navigation",
      input: {
        repository_id: repositoryId,
        paths: z.array(filePath).min(1).max(100).describe("The files that change"),
        depth: z.number().int().min(1).max(5).optional().describe("Steps to follow, default 3")
      },
      output: {
        paths: z.array(z.string()),
        depth: z.number(),
        files: z.array(impactedFile),
        truncated: z.boolean(),
        resolution
      },
      decode: decodeImpact,
      answer: (userId, input) =>
        navigation.impact(userId, input.repository_id, { paths: input.paths, depth: input.depth })
    })
  ]
})
