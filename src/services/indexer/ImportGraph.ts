import type { ExtractedImport } from "../../symbols/Extraction.js"
import type { ImportKey, ImportRow } from "../stores/CodeIntelStore.js"

/** Resolves one import of `fromPath` to files of the commit (empty: not inside the repository). */
export type ResolveImport = (input: {
  readonly language: string
  readonly fromPath: string
  readonly module: string
}) => ReadonlyArray<string>

/** Files whose change can move every import's resolution (module roots, path aliases). */
export const RESOLUTION_CONFIG = new Set(["tsconfig.json", "jsconfig.json", "go.mod"])

const SOURCE_EXTENSION = /\.(?:[cm]?[jt]sx?|py|pyi|go|rs|java|cs|php|rb|h|hh|hpp|hxx|c|cc|cpp|cxx)$/i

/**
 * The last segment of an import's module text without a source extension: `./util/format.js` → `format`,
 * `os.path` → `path`, `<sys/types.h>` → `types`, `crate::a::b` → `b`. A file can only be the target of an
 * import whose stem is its own name or its directory's name (`index`, `__init__`, Go packages).
 */
export const moduleStem = (module: string): string => {
  const bare = module.replace(/^[<"']|[>"']$/g, "").replace(SOURCE_EXTENSION, "").replace(/[/\\:.]+$/, "")
  const segments = bare.split(/[/\\]|::|\./)
  return segments[segments.length - 1] ?? ""
}

/** The stems an import could use to name this file. */
export const fileStems = (path: string): Array<string> => {
  const parts = path.split("/")
  const name = parts[parts.length - 1]!.replace(SOURCE_EXTENSION, "")
  return parts.length > 1 ? [name, parts[parts.length - 2]!] : [name]
}

export const resolveImports = (
  path: string,
  language: string,
  imports: ReadonlyArray<ExtractedImport>,
  resolve: ResolveImport
): Array<ImportRow> =>
  imports.map((i, ordinal) => ({
    ...i,
    path,
    ordinal,
    language,
    moduleStem: moduleStem(i.module),
    resolved: resolve({ language, fromPath: path, module: i.module })
  }))

export const resolveStored = (keys: ReadonlyArray<ImportKey>, resolve: ResolveImport): Array<ImportRow> =>
  keys.map((k) => ({ ...k, resolved: resolve({ language: k.language, fromPath: k.path, module: k.module }) }))
