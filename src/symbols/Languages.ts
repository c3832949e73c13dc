import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"

const require = createRequire(import.meta.url)

/** How one language is parsed: its grammar and the tag queries run over the tree, ours first. */
export interface LanguageSpec {
  /** The Linguist name `languageOf` returns. */
  readonly name: string
  readonly wasm: string
  /** Our queries first: where a node matches several patterns, the earliest pattern wins. */
  readonly queries: ReadonlyArray<string>
}

/**
 * Read by the TypeScript compiler's parser instead of tree-sitter: tree-sitter-typescript cannot
 * parse all of today's TypeScript (variance annotations, some overloads), and the compiler's parser
 * agrees with ctags more and is no slower (bench/README.md, bench:symbols).
 */
export const COMPILER_LANGUAGES: ReadonlySet<string> = new Set(["TypeScript", "TSX", "JavaScript"])

const packaged = (path: string) => require.resolve(path)
const own = (file: string) => fileURLToPath(new URL(`./queries/${file}`, import.meta.url))

const spec = (name: string, pkg: string, grammar: string, ours: string) => ({
  name,
  wasm: packaged(`${pkg}/${grammar}.wasm`),
  queries: [own(ours), packaged(`${pkg}/queries/tags.scm`)]
})

const specs: ReadonlyArray<LanguageSpec> = [
  spec("Python", "tree-sitter-python", "tree-sitter-python", "python.scm"),
  spec("Go", "tree-sitter-go", "tree-sitter-go", "go.scm"),
  spec("Rust", "tree-sitter-rust", "tree-sitter-rust", "rust.scm"),
  spec("Java", "tree-sitter-java", "tree-sitter-java", "java.scm"),
  spec("C", "tree-sitter-c", "tree-sitter-c", "c.scm"),
  spec("C++", "tree-sitter-cpp", "tree-sitter-cpp", "cpp.scm"),
  spec("Ruby", "tree-sitter-ruby", "tree-sitter-ruby", "ruby.scm"),
  spec("PHP", "tree-sitter-php", "tree-sitter-php", "php.scm"),
  spec("C#", "tree-sitter-c-sharp", "tree-sitter-c_sharp", "csharp.scm")
]

/** The languages tree-sitter parses. */
export const LANGUAGES: ReadonlyMap<string, LanguageSpec> = new Map(specs.map((s) => [s.name, s]))

/** Whether files of this language (a Linguist name, as `languageOf` returns) get symbols. */
export const supports = (language: string | null): boolean =>
  language !== null && (LANGUAGES.has(language) || COMPILER_LANGUAGES.has(language))
