import { posix } from "node:path"
import type { ResolveImport } from "./ImportGraph.js"

/** What resolution needs besides the import itself: the commit's files and its module roots. */
export interface ResolutionContext {
  readonly files: ReadonlySet<string>
  /** The text of the root `tsconfig.json` (or `jsconfig.json`), when there is one. */
  readonly tsconfig: string | null
  /** The text of the root `go.mod`, when there is one. */
  readonly goMod: string | null
}

const JS_EXTENSIONS = [".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts"]
// An import written with the compiled extension names the source file (TypeScript's own rule).
const JS_SUBSTITUTES: Record<string, ReadonlyArray<string>> = {
  ".js": [".ts", ".tsx", ".d.ts", ".js"],
  ".jsx": [".tsx", ".jsx"],
  ".mjs": [".mts", ".mjs"],
  ".cjs": [".cts", ".cjs"]
}

/** tsconfig.json is JSON with comments and trailing commas. */
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

interface PathAliases {
  readonly baseUrl: string | null
  readonly paths: ReadonlyArray<
    { readonly prefix: string; readonly suffix: string; readonly targets: ReadonlyArray<string> }
  >
}

const aliasesOf = (tsconfig: string | null): PathAliases => {
  const parsed = tsconfig === null ? null : parseJsonc(tsconfig) as { compilerOptions?: Record<string, unknown> } | null
  const options = parsed?.compilerOptions ?? {}
  const baseUrl = typeof options.baseUrl === "string" ? posix.normalize(options.baseUrl) : null
  const root = baseUrl ?? "."
  const paths = typeof options.paths === "object" && options.paths !== null
    ? options.paths as Record<string, unknown>
    : {}
  return {
    baseUrl,
    paths: Object.entries(paths).flatMap(([pattern, targets]) => {
      if (!Array.isArray(targets)) return []
      const star = pattern.indexOf("*")
      return [{
        prefix: star === -1 ? pattern : pattern.slice(0, star),
        suffix: star === -1 ? "" : pattern.slice(star + 1),
        targets: targets.filter((t): t is string => typeof t === "string").map((t) => posix.join(root, t))
      }]
    })
  }
}

const goModuleOf = (goMod: string | null) => goMod === null ? null : /^\s*module\s+(\S+)/m.exec(goMod)?.[1] ?? null

const clean = (path: string) => {
  const normalized = posix.normalize(path)
  return normalized.startsWith("../") || normalized === ".." ? null : normalized.replace(/^\.\//, "")
}

/**
 * Resolves imports to files of the commit by each language's own rules, as far as they can be followed
 * from the files alone (no package manager, no build): relative paths, extension substitution and index
 * files, tsconfig `paths` and `baseUrl`, Python packages, the Go module path, C includes, Rust modules,
 * Ruby requires, Java and PHP names. An import that leaves the repository (a package, the standard
 * library) resolves to nothing.
 */
export const importResolver = (context: ResolutionContext): ResolveImport => {
  const { files } = context
  const aliases = aliasesOf(context.tsconfig)
  const goModule = goModuleOf(context.goMod)
  // File name → paths, for the languages whose imports name a file by a path suffix.
  const byName = new Map<string, Array<string>>()
  const byDirectory = new Map<string, Array<string>>()
  for (const path of files) {
    const name = posix.basename(path)
    byName.set(name, [...(byName.get(name) ?? []), path])
    const dir = posix.dirname(path)
    byDirectory.set(dir, [...(byDirectory.get(dir) ?? []), path])
  }
  const has = (path: string | null): path is string => path !== null && files.has(path)
  const first = (candidates: ReadonlyArray<string | null>): ReadonlyArray<string> => {
    const found = candidates.find(has)
    return found === undefined ? [] : [found]
  }
  /** Paths ending in `suffix` (a whole path segment boundary). */
  const bySuffix = (suffix: string): Array<string> =>
    (byName.get(posix.basename(suffix)) ?? []).filter((p) => p === suffix || p.endsWith(`/${suffix}`))

  const jsFile = (base: string | null): ReadonlyArray<string> => {
    if (base === null) return []
    const ext = posix.extname(base)
    const stem = base.slice(0, base.length - ext.length)
    return first([
      base,
      ...(JS_SUBSTITUTES[ext] ?? []).map((e) => stem + e),
      ...JS_EXTENSIONS.map((e) => base + e),
      ...JS_EXTENSIONS.map((e) => posix.join(base, `index${e}`))
    ])
  }
  const javascript = (fromPath: string, module: string): ReadonlyArray<string> => {
    if (module.startsWith(".")) return jsFile(clean(posix.join(posix.dirname(fromPath), module)))
    for (const alias of aliases.paths) {
      if (!module.startsWith(alias.prefix) || !module.endsWith(alias.suffix)) continue
      const middle = module.slice(alias.prefix.length, module.length - alias.suffix.length)
      for (const target of alias.targets) {
        const found = jsFile(clean(target.replace("*", middle)))
        if (found.length > 0) return found
      }
    }
    return aliases.baseUrl === null ? [] : jsFile(clean(posix.join(aliases.baseUrl, module)))
  }

  const pythonModule = (base: string | null) =>
    base === null ? [] : first([`${base}.py`, `${base}.pyi`, `${base}/__init__.py`, `${base}/__init__.pyi`])
  const python = (fromPath: string, module: string): ReadonlyArray<string> => {
    const dots = /^\.*/.exec(module)![0].length
    const rest = module.slice(dots).split(".").filter((s) => s !== "").join("/")
    if (dots > 0) {
      let dir = posix.dirname(fromPath)
      for (let i = 1; i < dots; i++) dir = posix.dirname(dir)
      return pythonModule(clean(posix.join(dir, rest === "" ? "__init__" : rest)))
    }
    for (const root of ["", "src", posix.dirname(fromPath)]) {
      const found = pythonModule(clean(posix.join(root, rest)))
      if (found.length > 0) return found
    }
    return []
  }

  const go = (module: string): ReadonlyArray<string> => {
    if (goModule === null || (module !== goModule && !module.startsWith(`${goModule}/`))) return []
    const dir = module === goModule ? "." : module.slice(goModule.length + 1)
    return (byDirectory.get(dir) ?? []).filter((p) => p.endsWith(".go") && !p.endsWith("_test.go")).sort()
  }

  const include = (fromPath: string, module: string): ReadonlyArray<string> => {
    const name = module.replace(/^[<"]|[>"]$/g, "")
    const relative = first([clean(posix.join(posix.dirname(fromPath), name)), clean(name)])
    if (relative.length > 0) return relative
    const matches = bySuffix(posix.normalize(name))
    return matches.length === 1 ? matches : []
  }

  const rust = (fromPath: string, module: string): ReadonlyArray<string> => {
    const segments = module.split("::").filter((s) => s !== "" && s !== "self")
    if (segments.length === 0) return []
    const file = posix.basename(fromPath)
    const own = ["mod.rs", "lib.rs", "main.rs"].includes(file)
      ? posix.dirname(fromPath)
      : posix.join(posix.dirname(fromPath), file.replace(/\.rs$/, ""))
    const resolveFrom = (dir: string, parts: ReadonlyArray<string>) => {
      for (let n = parts.length; n > 0; n--) {
        const base = clean(posix.join(dir, ...parts.slice(0, n)))
        const found = first([base === null ? null : `${base}.rs`, base === null ? null : `${base}/mod.rs`])
        if (found.length > 0) return found
      }
      return []
    }
    if (segments[0] === "crate") {
      const crateRoot = fromPath.includes("src/") ? fromPath.slice(0, fromPath.lastIndexOf("src/") + 3) : "."
      return resolveFrom(crateRoot, segments.slice(1))
    }
    if (segments[0] === "super") return resolveFrom(posix.dirname(own), segments.slice(1))
    return resolveFrom(own, segments)
  }

  const ruby = (fromPath: string, module: string): ReadonlyArray<string> => {
    const name = module.endsWith(".rb") ? module : `${module}.rb`
    return first([clean(posix.join(posix.dirname(fromPath), name)), clean(posix.join("lib", name)), clean(name)])
  }

  /** A dotted or namespaced name (`a.b.C`, `App\\Models\\User`) as a path suffix; `*` names a package. */
  const qualified = (module: string, separator: string, extension: string): ReadonlyArray<string> => {
    const parts = module.split(separator).filter((s) => s !== "")
    if (parts[parts.length - 1] === "*") {
      const dir = parts.slice(0, -1).join("/")
      return [...byDirectory.entries()].filter(([d]) => d === dir || d.endsWith(`/${dir}`))
        .flatMap(([, paths]) => paths.filter((p) => p.endsWith(extension))).sort()
    }
    // The longest suffix that names exactly one file: PSR-4 and source roots drop the leading segments,
    // but the last package segment stays, so that another package's class of the same name is no match.
    for (let start = 0; start < Math.max(1, parts.length - 1); start++) {
      const matches = bySuffix(`${parts.slice(start).join("/")}${extension}`)
      if (matches.length === 1) return matches
      if (matches.length > 1) return []
    }
    return []
  }

  const php = (fromPath: string, module: string): ReadonlyArray<string> =>
    module.endsWith(".php") ? include(fromPath, module) : qualified(module, "\\", ".php")

  return ({ fromPath, language, module }) => {
    switch (language) {
      case "TypeScript":
      case "TSX":
      case "JavaScript":
        return javascript(fromPath, module)
      case "Python":
        return python(fromPath, module)
      case "Go":
        return go(module)
      case "C":
      case "C++":
        return include(fromPath, module)
      case "Rust":
        return rust(fromPath, module)
      case "Ruby":
        return ruby(fromPath, module)
      case "Java":
        return qualified(module, ".", ".java")
      case "PHP":
        return php(fromPath, module)
      default:
        // C# `using` names a namespace, which no file rule maps to files.
        return []
    }
  }
}
