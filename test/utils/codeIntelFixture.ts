import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { fold } from "../../src/services/stores/Chunking.js"
import { REFERENCE_KIND_CODES } from "../../src/services/stores/CodeIntelStore.js"

/**
 * A small repository in three languages, as the indexer would store it (files, chunks, symbols, references,
 * imports), written with SQL so that the navigation routes can be tested without the extractor. Positions are
 * computed from the text: a symbol or reference names the line it is on, and its column is where the name
 * first appears there. It has an import cycle (src/index.ts → src/util.ts → src/index.ts), a name defined in
 * two files (`helper`), a Go method outside its type's range, a file of several chunks (src/util.ts) and a
 * file without symbols (README.md).
 */

interface FixtureSymbol {
  readonly name: string
  readonly kind: string
  readonly line: number
  readonly endLine?: number
  readonly container?: string
}
interface FixtureReference {
  readonly name: string
  readonly kind: "call" | "type" | "inherit" | "import" | "other"
  readonly line: number
  readonly enclosing?: string
  /** The n-th occurrence of the name on the line (0 first). */
  readonly nth?: number
}
interface FixtureImport {
  readonly module: string
  readonly line: number
  readonly resolved: ReadonlyArray<string>
}
export interface FixtureFile {
  readonly language: string | null
  readonly content: string
  /** Lines per chunk (default: one chunk). */
  readonly chunkLines?: number
  readonly symbols?: ReadonlyArray<FixtureSymbol>
  readonly references?: ReadonlyArray<FixtureReference>
  readonly imports?: ReadonlyArray<FixtureImport>
}

const lines = (...text: ReadonlyArray<string>) => text.join("\n") + "\n"

export const CODE_FILES: Readonly<Record<string, FixtureFile>> = {
  "src/index.ts": {
    language: "TypeScript",
    content: lines(
      "import { formatName, helper } from \"./util\"",
      "import { loadUser } from \"./models/user\"",
      "import * as fs from \"node:fs\"",
      "",
      "export function main(): void {",
      "  const user = loadUser(1)",
      "  console.log(formatName(user.name))",
      "  helper()",
      "}",
      "",
      "main()"
    ),
    symbols: [{ name: "main", kind: "function", line: 5, endLine: 9 }],
    references: [
      { name: "formatName", kind: "import", line: 1 },
      { name: "helper", kind: "import", line: 1 },
      { name: "loadUser", kind: "import", line: 2 },
      { name: "loadUser", kind: "call", line: 6, enclosing: "main" },
      { name: "log", kind: "call", line: 7, enclosing: "main" },
      { name: "formatName", kind: "call", line: 7, enclosing: "main" },
      { name: "helper", kind: "call", line: 8, enclosing: "main" },
      { name: "main", kind: "call", line: 11 }
    ],
    imports: [
      { module: "./util", line: 1, resolved: ["src/util.ts"] },
      { module: "./models/user", line: 2, resolved: ["src/models/user.ts"] },
      { module: "node:fs", line: 3, resolved: [] }
    ]
  },
  "src/util.ts": {
    language: "TypeScript",
    chunkLines: 4,
    content: lines(
      "import { main } from \"./index\"",
      "",
      "export function formatName(name: string): string {",
      "  return capitalize(name.trim())",
      "}",
      "",
      "export function capitalize(word: string): string {",
      "  return word.charAt(0).toUpperCase() + word.slice(1)",
      "}",
      "",
      "export function helper(): void {",
      "  formatName(\"x\")",
      "  formatName(\"y\")",
      "}",
      "",
      "export const rerun = () => main()"
    ),
    symbols: [
      { name: "formatName", kind: "function", line: 3, endLine: 5 },
      { name: "capitalize", kind: "function", line: 7, endLine: 9 },
      { name: "helper", kind: "function", line: 11, endLine: 14 },
      { name: "rerun", kind: "function", line: 16 }
    ],
    references: [
      { name: "main", kind: "import", line: 1 },
      { name: "capitalize", kind: "call", line: 4, enclosing: "formatName" },
      { name: "trim", kind: "call", line: 4, enclosing: "formatName" },
      { name: "formatName", kind: "call", line: 12, enclosing: "helper" },
      { name: "formatName", kind: "call", line: 13, enclosing: "helper" },
      { name: "main", kind: "call", line: 16, enclosing: "rerun" }
    ],
    imports: [{ module: "./index", line: 1, resolved: ["src/index.ts"] }]
  },
  "src/models/user.ts": {
    language: "TypeScript",
    content: lines(
      "import { formatName } from \"../util\"",
      "",
      "export interface UserRecord {",
      "  name: string",
      "}",
      "",
      "export class User implements UserRecord {",
      "  constructor(readonly name: string) {}",
      "",
      "  fullName(): string {",
      "    return formatName(this.name)",
      "  }",
      "}",
      "",
      "export function loadUser(id: number): User {",
      "  return new User(String(id))",
      "}"
    ),
    symbols: [
      { name: "UserRecord", kind: "interface", line: 3, endLine: 5 },
      { name: "name", kind: "field", line: 4, container: "UserRecord" },
      { name: "User", kind: "class", line: 7, endLine: 13 },
      { name: "fullName", kind: "method", line: 10, endLine: 12, container: "User" },
      { name: "loadUser", kind: "function", line: 15, endLine: 17 }
    ],
    references: [
      { name: "formatName", kind: "import", line: 1 },
      { name: "UserRecord", kind: "inherit", line: 7, enclosing: "User" },
      { name: "formatName", kind: "call", line: 11, enclosing: "fullName" },
      { name: "User", kind: "type", line: 15, enclosing: "loadUser" },
      { name: "User", kind: "call", line: 16, enclosing: "loadUser" },
      { name: "String", kind: "call", line: 16, enclosing: "loadUser" }
    ],
    imports: [{ module: "../util", line: 1, resolved: ["src/util.ts"] }]
  },
  "app/main.py": {
    language: "Python",
    content: lines(
      "from app.helpers import helper",
      "import os",
      "",
      "class Greeter:",
      "    def greet(self, name):",
      "        return helper(name)",
      "",
      "def main():",
      "    Greeter().greet(os.getcwd())"
    ),
    symbols: [
      { name: "Greeter", kind: "class", line: 4, endLine: 6 },
      { name: "greet", kind: "method", line: 5, endLine: 6, container: "Greeter" },
      { name: "main", kind: "function", line: 8, endLine: 9 }
    ],
    references: [
      { name: "helper", kind: "import", line: 1 },
      { name: "helper", kind: "call", line: 6, enclosing: "greet" },
      { name: "Greeter", kind: "call", line: 9, enclosing: "main" },
      { name: "greet", kind: "call", line: 9, enclosing: "main" },
      { name: "getcwd", kind: "call", line: 9, enclosing: "main" }
    ],
    imports: [
      { module: "app.helpers", line: 1, resolved: ["app/helpers.py"] },
      { module: "os", line: 2, resolved: [] }
    ]
  },
  "app/helpers.py": {
    language: "Python",
    content: lines(
      "def helper(value):",
      "    return str(value)",
      "",
      "HELPER_NAME = \"helper\""
    ),
    symbols: [
      { name: "helper", kind: "function", line: 1, endLine: 2 },
      { name: "HELPER_NAME", kind: "constant", line: 4 }
    ],
    references: [{ name: "str", kind: "call", line: 2, enclosing: "helper" }]
  },
  "cmd/server.go": {
    language: "Go",
    content: lines(
      "package main",
      "",
      "type Server struct {",
      "\taddr string",
      "}",
      "",
      "func (s *Server) Serve() error {",
      "\treturn listen(s.addr)",
      "}",
      "",
      "func listen(addr string) error { return nil }",
      "",
      "func main() {",
      "\t(&Server{addr: \":80\"}).Serve()",
      "}"
    ),
    symbols: [
      { name: "Server", kind: "type", line: 3, endLine: 5 },
      { name: "addr", kind: "field", line: 4, container: "Server" },
      { name: "Serve", kind: "method", line: 7, endLine: 9, container: "Server" },
      { name: "listen", kind: "function", line: 11 },
      { name: "main", kind: "function", line: 13, endLine: 15 }
    ],
    references: [
      { name: "Server", kind: "type", line: 7, enclosing: "Serve" },
      { name: "listen", kind: "call", line: 8, enclosing: "Serve" },
      { name: "Server", kind: "type", line: 14, enclosing: "main" },
      { name: "Serve", kind: "call", line: 14, enclosing: "main" }
    ]
  },
  "README.md": {
    language: "Markdown",
    content: lines("# Fixture", "", "Call `main` to start.")
  }
}

/** 1-based UTF-16 column of the n-th occurrence of `name` as a word on `line` of `content`. */
export const columnOf = (content: string, line: number, name: string, nth = 0) => {
  const text = content.split("\n")[line - 1] ?? ""
  const pattern = new RegExp(`(?<![A-Za-z0-9_])${name.replace(/[$]/g, "\\$")}(?![A-Za-z0-9_])`, "g")
  const found = [...text.matchAll(pattern)][nth]
  if (found === undefined) throw new Error(`${name} is not on line ${line}: ${text}`)
  return found.index + 1
}

const chunksOf = (content: string, linesPerChunk: number) => {
  const all = content.match(/[^\n]*\n|[^\n]+$/g) ?? []
  const chunks: Array<{ chunkNo: number; startLine: number; content: string }> = []
  for (let i = 0; i < all.length; i += linesPerChunk) {
    chunks.push({ chunkNo: chunks.length, startLine: i + 1, content: all.slice(i, i + linesPerChunk).join("") })
  }
  return chunks
}

/** Writes `files` into a repository's index, as the indexer's write transaction would; returns their symbol count. */
export const seedCodeIntel = (
  repositoryId: string,
  files: Readonly<Record<string, FixtureFile>> = CODE_FILES,
  commit = "c0ffee".padEnd(40, "0")
) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    let symbolCount = 0
    for (const [path, file] of Object.entries(files)) {
      const lineCount = file.content.split("\n").length - (file.content.endsWith("\n") ? 1 : 0)
      yield* sql`
        INSERT INTO indexed_files (repository_id, path, blob_sha, language, size_bytes, line_count, extractor_version)
        VALUES (${repositoryId}, ${path}, ${"a".repeat(40)}, ${file.language},
          ${Buffer.byteLength(file.content)}, ${lineCount}, 1)`
      for (const chunk of chunksOf(file.content, file.chunkLines ?? 1000)) {
        yield* sql`
          INSERT INTO indexed_chunks (repository_id, path, chunk_no, start_line, language, content, folded)
          VALUES (${repositoryId}, ${path}, ${chunk.chunkNo}, ${chunk.startLine}, ${file.language},
            ${chunk.content}, ${fold(chunk.content)})`
      }
      const textLines = file.content.split("\n")
      for (const [ordinal, symbol] of (file.symbols ?? []).entries()) {
        const endLine = symbol.endLine ?? symbol.line
        yield* sql`
          INSERT INTO code_symbols (repository_id, path, ordinal, name, kind, language, line, col, end_line, end_col,
            container, signature)
          VALUES (${repositoryId}, ${path}, ${ordinal}, ${symbol.name}, ${symbol.kind}, ${file.language ?? "Text"},
            ${symbol.line}, ${columnOf(file.content, symbol.line, symbol.name)}, ${endLine},
            ${(textLines[endLine - 1] ?? "").length + 1}, ${symbol.container ?? null},
            ${(textLines[symbol.line - 1] ?? "").trim()})`
        symbolCount++
      }
      for (const [ordinal, reference] of (file.references ?? []).entries()) {
        // One row per file and name (migration 0027): a name's later references append to its row, in order.
        yield* sql`
          INSERT INTO code_references AS r (repository_id, path, name, ordinals, kinds, lines, cols, enclosings)
          VALUES (${repositoryId}, ${path}, ${reference.name}, ARRAY[${ordinal}::int],
            ARRAY[${REFERENCE_KIND_CODES[reference.kind]}::"char"], ARRAY[${reference.line}::int],
            ARRAY[${columnOf(file.content, reference.line, reference.name, reference.nth)}::int],
            ARRAY[${reference.enclosing ?? null}::text])
          ON CONFLICT (repository_id, name, path) DO UPDATE SET
            ordinals = r.ordinals || excluded.ordinals, kinds = r.kinds || excluded.kinds,
            lines = r.lines || excluded.lines, cols = r.cols || excluded.cols,
            enclosings = r.enclosings || excluded.enclosings`
      }
      let ordinal = 0
      for (const imported of file.imports ?? []) {
        const stem = imported.module.split(/[/.]/).pop()!
        for (const resolved of imported.resolved.length === 0 ? [null] : imported.resolved) {
          yield* sql`
            INSERT INTO code_imports (repository_id, path, ordinal, module, module_stem, language, line, resolved_path)
            VALUES (${repositoryId}, ${path}, ${ordinal++}, ${imported.module}, ${stem}, ${file.language ?? "Text"},
              ${imported.line}, ${resolved})`
        }
      }
    }
    yield* sql`UPDATE repositories SET last_indexed_commit = ${commit}, last_indexed_at = now() WHERE id = ${repositoryId}`
    return symbolCount
  }).pipe(Effect.orDie)
