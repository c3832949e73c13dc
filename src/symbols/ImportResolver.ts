import { posix } from "node:path"

/** tsconfig.json's module resolution settings, directories relative to the repository root ("" is the root). */
export interface TsconfigPaths {
  /** Where `baseUrl` points, or null when there is none. */
  readonly baseUrl: string | null
  /** The directory `paths` targets are relative to: `baseUrl` if set, else the tsconfig's own. */
  readonly pathsBase: string
  readonly paths: Readonly<Record<string, ReadonlyArray<string>>>
}

export interface ImportInput {
  /** A Linguist name, as `languageOf` returns. */
  readonly language: string
  /** The importing file, relative to the repository root. */
  readonly fromPath: string
  /** The module text as extracted: "./util", "os.path", "fmt", "stdio.h". */
  readonly module: string
  readonly files: ReadonlySet<string>
  readonly tsconfig?: TsconfigPaths | null
  /** go.mod's `module` path. */
  readonly goModule?: string | null
}

export interface ImportContext {
  readonly files: ReadonlySet<string>
  readonly tsconfig: TsconfigPaths | null
  readonly goModule: string | null
}

/** Files by directory and by name, built once per file set. */
interface Index {
  readonly byDirectory: ReadonlyMap<string, ReadonlyArray<string>>
  readonly byName: ReadonlyMap<string, ReadonlyArray<string>>
}

const indexes = new WeakMap<ReadonlySet<string>, Index>()

const indexOf = (files: ReadonlySet<string>): Index => {
  let index = indexes.get(files)
  if (index === undefined) {
    const byDirectory = new Map<string, Array<string>>()
    const byName = new Map<string, Array<string>>()
    for (const file of [...files].sort()) {
      const dir = posix.dirname(file) === "." ? "" : posix.dirname(file)
      const name = posix.basename(file)
      const inDirectory = byDirectory.get(dir)
      if (inDirectory === undefined) byDirectory.set(dir, [file])
      else inDirectory.push(file)
      const named = byName.get(name)
      if (named === undefined) byName.set(name, [file])
      else named.push(file)
    }
    index = { byDirectory, byName }
    indexes.set(files, index)
  }
  return index
}

/** A repository-relative path, or null when it climbs out of the repository. */
const join = (...parts: ReadonlyArray<string>): string | null => {
  const joined = posix.normalize(posix.join(...parts.filter((p) => p !== "")))
  if (joined === ".") return ""
  return joined.startsWith("../") || joined === ".." || posix.isAbsolute(joined) ? null : joined
}

const directoryOf = (path: string) => {
  const dir = posix.dirname(path)
  return dir === "." ? "" : dir
}

const first = (files: ReadonlySet<string>, candidates: ReadonlyArray<string | null>): ReadonlyArray<string> => {
  for (const candidate of candidates) if (candidate !== null && files.has(candidate)) return [candidate]
  return []
}

/** Files whose path ends with `suffix` (whole path segments), when exactly one does. */
const uniqueSuffix = (files: ReadonlySet<string>, suffix: string): ReadonlyArray<string> => {
  const matches = (indexOf(files).byName.get(posix.basename(suffix)) ?? []).filter((f) =>
    f === suffix || f.endsWith(`/${suffix}`)
  )
  return matches.length === 1 ? matches : []
}

// ---- TypeScript and JavaScript ------------------------------------------------------------------

const SCRIPT_EXTENSIONS = [".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts"]
const SUBSTITUTES: Readonly<Record<string, ReadonlyArray<string>>> = {
  ".js": [".ts", ".tsx", ".d.ts"],
  ".jsx": [".tsx"],
  ".mjs": [".mts", ".d.mts"],
  ".cjs": [".cts", ".d.cts"]
}

const scriptCandidates = (base: string | null): ReadonlyArray<string | null> => {
  if (base === null) return []
  const extension = posix.extname(base)
  const stem = base.slice(0, base.length - extension.length)
  return [
    base,
    ...(SUBSTITUTES[extension] ?? []).map((e) => stem + e),
    ...SCRIPT_EXTENSIONS.map((e) => base + e),
    ...SCRIPT_EXTENSIONS.map((e) => join(base, `index${e}`))
  ]
}

const resolveScript = (input: ImportInput): ReadonlyArray<string> => {
  const { files, fromPath, module } = input
  if (module.startsWith("./") || module.startsWith("../") || module === "." || module === "..") {
    return first(files, scriptCandidates(join(directoryOf(fromPath), module)))
  }
  const tsconfig = input.tsconfig ?? null
  if (tsconfig === null) return []
  for (const [pattern, targets] of Object.entries(tsconfig.paths)) {
    const star = pattern.indexOf("*")
    const prefix = star === -1 ? pattern : pattern.slice(0, star)
    const suffix = star === -1 ? "" : pattern.slice(star + 1)
    const matches = star === -1
      ? module === pattern
      : module.startsWith(prefix) && module.endsWith(suffix) && module.length >= prefix.length + suffix.length
    if (!matches) continue
    const captured = star === -1 ? "" : module.slice(prefix.length, module.length - suffix.length)
    for (const target of targets) {
      const found = first(files, scriptCandidates(join(tsconfig.pathsBase, target.replace("*", captured))))
      if (found.length > 0) return found
    }
  }
  return tsconfig.baseUrl === null ? [] : first(files, scriptCandidates(join(tsconfig.baseUrl, module)))
}

// ---- Python -------------------------------------------------------------------------------------

const pythonCandidates = (dir: string | null, dotted: string): ReadonlyArray<string | null> => {
  if (dir === null) return []
  if (dotted === "") return [join(dir, "__init__.py")]
  const path = dotted.split(".").join("/")
  return [join(dir, `${path}.py`), join(dir, path, "__init__.py"), join(dir, `${path}.pyi`)]
}

const resolvePython = ({ files, fromPath, module }: ImportInput): ReadonlyArray<string> => {
  const dots = /^\.*/.exec(module)![0].length
  const rest = module.slice(dots)
  if (dots > 0) {
    let dir: string | null = directoryOf(fromPath)
    for (let up = 1; up < dots && dir !== null; up++) dir = dir === "" ? null : directoryOf(dir)
    return first(files, pythonCandidates(dir, rest))
  }
  return first(files, [...pythonCandidates("", rest), ...pythonCandidates("src", rest)])
}

// ---- Go -----------------------------------------------------------------------------------------

/** Every non-test file of the imported package: a Go import is of a directory. */
const resolveGo = ({ files, goModule, module }: ImportInput): ReadonlyArray<string> => {
  if (goModule === undefined || goModule === null) return []
  if (module !== goModule && !module.startsWith(`${goModule}/`)) return []
  const dir = module.slice(goModule.length + 1)
  return (indexOf(files).byDirectory.get(dir) ?? []).filter((f) => f.endsWith(".go") && !f.endsWith("_test.go"))
}

// ---- C and C++ ----------------------------------------------------------------------------------

const resolveInclude = ({ files, fromPath, module }: ImportInput): ReadonlyArray<string> => {
  const relative = first(files, [join(directoryOf(fromPath), module)])
  return relative.length > 0 ? relative : uniqueSuffix(files, posix.normalize(module).replace(/^(\.\.?\/)+/, ""))
}

// ---- Rust ---------------------------------------------------------------------------------------

/** The directory a Rust file's child modules live in: `src/a.rs` keeps them in `src/a/`. */
const rustModuleDirectory = (path: string) => {
  const name = posix.basename(path)
  return ["lib.rs", "main.rs", "mod.rs"].includes(name) ? directoryOf(path) : path.slice(0, -3)
}

const rustCrateRoot = (files: ReadonlySet<string>, fromPath: string): string => {
  for (let dir: string = directoryOf(fromPath);; dir = directoryOf(dir)) {
    if (files.has(join(dir, "lib.rs")!) || files.has(join(dir, "main.rs")!)) return dir
    if (dir === "") return directoryOf(fromPath)
  }
}

const resolveRust = ({ files, fromPath, module }: ImportInput): ReadonlyArray<string> => {
  if (/^\w+$/.test(module)) {
    const dir = rustModuleDirectory(fromPath)
    return first(files, [join(dir, `${module}.rs`), join(dir, module, "mod.rs")])
  }
  const segments = module.replace(/::\{[\s\S]*$/, "").replace(/::\*$/, "").split("::").map((s) => s.trim())
  let dir: string | null
  if (segments[0] === "crate") dir = rustCrateRoot(files, fromPath)
  else if (segments[0] === "self") dir = rustModuleDirectory(fromPath)
  else if (segments[0] === "super") dir = directoryOf(rustModuleDirectory(fromPath))
  else return []
  let rest = segments.slice(1)
  while (rest[0] === "super" && dir !== null) {
    dir = dir === "" ? null : directoryOf(dir)
    rest = rest.slice(1)
  }
  if (dir === null) return []
  // The path's last segments may name items inside a module: try the longest module path first.
  for (let n = rest.length; n > 0; n--) {
    const path = rest.slice(0, n).join("/")
    const found = first(files, [join(dir, `${path}.rs`), join(dir, path, "mod.rs")])
    if (found.length > 0) return found
  }
  return []
}

// ---- Ruby, PHP, Java, C# ------------------------------------------------------------------------

const resolveRuby = ({ files, fromPath, module }: ImportInput): ReadonlyArray<string> => {
  const file = module.endsWith(".rb") ? module : `${module}.rb`
  return first(files, [join(directoryOf(fromPath), file), join("lib", file), join(file)])
}

const resolvePhp = ({ files, fromPath, module }: ImportInput): ReadonlyArray<string> => {
  if (module.endsWith(".php")) return first(files, [join(directoryOf(fromPath), module), join(module)])
  // A namespace-qualified class, found the PSR-4 way: its path ends with the namespace's tail.
  const segments = module.replace(/^\\/, "").split("\\")
  for (let start = 0; start < segments.length; start++) {
    const found = uniqueSuffix(files, `${segments.slice(start).join("/")}.php`)
    if (found.length > 0) return found
  }
  return []
}

const resolveJava = ({ files, module }: ImportInput): ReadonlyArray<string> => {
  const segments = module.split(".")
  // `a.b.C`, `a.b.C.Inner` or a static `a.b.C.member`: the longest prefix that is a file wins.
  for (let n = segments.length; n > 1; n--) {
    const found = uniqueSuffix(files, `${segments.slice(0, n).join("/")}.java`)
    if (found.length > 0) return found
  }
  return []
}

/** A namespace is not a file; its files are taken to be a directory whose path ends with it. */
const resolveCSharp = ({ files, module }: ImportInput): ReadonlyArray<string> => {
  const suffix = module.split(".").join("/")
  const dirs = [...indexOf(files).byDirectory.keys()].filter((d) => d === suffix || d.endsWith(`/${suffix}`))
  if (dirs.length !== 1) return []
  return (indexOf(files).byDirectory.get(dirs[0]!) ?? []).filter((f) => f.endsWith(".cs"))
}

const RESOLVERS: Readonly<Record<string, (input: ImportInput) => ReadonlyArray<string>>> = {
  TypeScript: resolveScript,
  TSX: resolveScript,
  JavaScript: resolveScript,
  Python: resolvePython,
  Go: resolveGo,
  C: resolveInclude,
  "C++": resolveInclude,
  Rust: resolveRust,
  Ruby: resolveRuby,
  PHP: resolvePhp,
  Java: resolveJava,
  "C#": resolveCSharp
}

/**
 * The repository files an import refers to, by the language's own rules, or none when it does not
 * resolve inside the repository (a package, the standard library, an ambiguous name). One file,
 * except for Go (every non-test file of the package) and C# (every file of the namespace's
 * directory).
 */
export const resolveImport = (input: ImportInput): ReadonlyArray<string> => {
  const resolve = RESOLVERS[input.language]
  return resolve === undefined || input.module.trim() === "" ? [] : resolve(input)
}

/**
 * tsconfig.json is JSON with comments and trailing commas. Parsed here rather than by the TypeScript
 * compiler's own reader: this runs on the server's main thread, which should not load `typescript`.
 */
const parseJsonc = (text: string): unknown => {
  let out = ""
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (c === "\"") {
      const start = i
      for (i++; i < text.length && text[i] !== "\""; i++) if (text[i] === "\\") i++
      out += text.slice(start, i + 1)
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++
      out += "\n"
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2)
      i = end === -1 ? text.length : end + 1
    } else out += c
  }
  try {
    return JSON.parse(out.replace(/,(\s*[}\]])/g, "$1"))
  } catch {
    return null
  }
}

/** tsconfig.json's `baseUrl` and `paths` (comments and trailing commas allowed), or null. */
export const parseTsconfig = (text: string, tsconfigPath = "tsconfig.json"): TsconfigPaths | null => {
  const config = parseJsonc(text)
  if (typeof config !== "object" || config === null) return null
  const options = (config as { compilerOptions?: { baseUrl?: unknown; paths?: unknown } }).compilerOptions ?? {}
  const dir = directoryOf(tsconfigPath)
  const baseUrl = typeof options.baseUrl === "string" ? join(dir, options.baseUrl) : null
  const paths: Record<string, ReadonlyArray<string>> = {}
  if (typeof options.paths === "object" && options.paths !== null) {
    for (const [pattern, targets] of Object.entries(options.paths)) {
      if (Array.isArray(targets)) paths[pattern] = targets.filter((t): t is string => typeof t === "string")
    }
  }
  return { baseUrl, pathsBase: baseUrl ?? dir, paths }
}

/** go.mod's module path, or null. */
export const parseGoModule = (text: string): string | null =>
  /^\s*module\s+"?([^\s"]+)"?/m.exec(text.replace(/\/\/.*$/gm, ""))?.[1] ?? null

/** What resolveImport needs for one repository, from its file list and, when present, the root tsconfig.json and go.mod. */
export const importContext = (
  files: Iterable<string>,
  contents: { readonly tsconfig?: string | null; readonly goMod?: string | null } = {}
): ImportContext => ({
  files: new Set(files),
  tsconfig: contents.tsconfig === undefined || contents.tsconfig === null ? null : parseTsconfig(contents.tsconfig),
  goModule: contents.goMod === undefined || contents.goMod === null ? null : parseGoModule(contents.goMod)
})
