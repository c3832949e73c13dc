import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { languageOf } from "../../src/domain/Language.js"
import type { Extraction, ExtractionOutcome, ReferenceKind, SymbolKind } from "../../src/symbols/Extraction.js"
import { Extractor } from "../../src/symbols/Extractor.js"
import { COMPILER_LANGUAGES, LANGUAGES, supports } from "../../src/symbols/Languages.js"

let extractor: Extractor
beforeAll(async () => {
  extractor = await Extractor.make()
})
afterAll(() => extractor.delete())

const fixture = (name: string) => readFileSync(new URL(`../fixtures/symbols/${name}.txt`, import.meta.url), "utf8")

/** Extracts a fixture as the indexer would see it: language from its name; it must parse cleanly. */
const extract = async (name: string): Promise<Extraction> => {
  const outcome = await extractor.extract(languageOf(name), fixture(name))
  if (outcome._tag !== "Extracted") throw new Error(`${name}: ${JSON.stringify(outcome)}`)
  expect(outcome.parseErrors).toBe(false)
  return outcome.extraction
}

const symbol = (name: string, kind: SymbolKind, line: number, container: string | null = null) =>
  expect.objectContaining({ name, kind, line, container })
const reference = (name: string, kind: ReferenceKind, line: number, enclosing: string | null) =>
  expect.objectContaining({ name, kind, line, enclosing })
const modules = (x: Extraction) => x.imports.map((i) => i.module)

describe("Extractor: every grammar loads and its queries find what a reader would", () => {
  it("covers the eleven languages: TypeScript, TSX and JavaScript by the compiler's parser, the rest by tree-sitter", () => {
    expect([...LANGUAGES.keys()].sort()).toEqual(["C", "C#", "C++", "Go", "Java", "PHP", "Python", "Ruby", "Rust"])
    expect([...COMPILER_LANGUAGES].sort()).toEqual(["JavaScript", "TSX", "TypeScript"])
    expect(supports("TypeScript")).toBe(true)
    expect(supports("Go")).toBe(true)
    expect(supports("Markdown")).toBe(false)
    expect(supports(null)).toBe(false)
  })

  it("TypeScript, variance annotations included", async () => {
    const x = await extract("sample.ts")
    expect(x.symbols).toEqual(expect.arrayContaining([
      symbol("Id", "type", 5),
      symbol("Shape", "interface", 7),
      symbol("describe", "method", 9, "Shape"),
      symbol("Color", "enum", 12),
      symbol("Geometry", "module", 17),
      symbol("Base", "class", 21),
      symbol("size", "method", 22, "Base"),
      symbol("Circle", "class", 25),
      symbol("constructor", "constructor", 27, "Circle"),
      symbol("size", "method", 31, "Circle"),
      symbol("compute", "function", 39),
      symbol("twice", "function", 43),
      symbol("helperValue", "function", 47)
    ]))
    expect(x.symbols.find((s) => s.name === "compute")).toMatchObject({
      column: 17,
      endLine: 41,
      endColumn: 2,
      signature: "export function compute(n: number): number {"
    })
    expect(x.references).toEqual(expect.arrayContaining([
      reference("Base", "inherit", 25, "Circle"),
      reference("Shape", "inherit", 25, "Circle"),
      reference("compute", "call", 32, "size"),
      reference("helperValue", "call", 40, "compute"),
      reference("compute", "call", 43, "twice"),
      reference("Circle", "call", 48, "helperValue"),
      reference("readFile", "import", 1, null)
    ]))
    expect(modules(x)).toEqual(["node:fs/promises", "./helper.js", "path"])
  })

  it("TSX", async () => {
    const x = await extract("sample.tsx")
    expect(x.symbols).toEqual(expect.arrayContaining([
      symbol("Props", "interface", 3),
      symbol("Title", "function", 7),
      symbol("format", "function", 11)
    ]))
    expect(x.references).toEqual(expect.arrayContaining([
      reference("Props", "type", 7, "Title"),
      reference("format", "call", 8, "Title")
    ]))
    expect(modules(x)).toEqual(["react"])
  })

  it("JavaScript", async () => {
    const x = await extract("sample.js")
    expect(x.symbols).toEqual(expect.arrayContaining([
      symbol("Animal", "class", 4),
      symbol("constructor", "constructor", 5, "Animal"),
      symbol("speak", "method", 8, "Animal"),
      symbol("Dog", "class", 13),
      symbol("speak", "method", 14, "Dog"),
      symbol("describe", "function", 19),
      symbol("bark", "function", 23)
    ]))
    expect(x.references).toEqual(expect.arrayContaining([
      reference("describe", "call", 9, "speak"),
      reference("Animal", "inherit", 13, "Dog"),
      reference("Dog", "call", 23, "bark")
    ]))
    expect(x.references.some((r) => r.name === "require")).toBe(false)
    expect(modules(x)).toEqual(["fs", "./util.js"])
  })

  it("Python", async () => {
    const x = await extract("sample.py")
    expect(x.symbols).toEqual(expect.arrayContaining([
      symbol("LIMIT", "constant", 6),
      symbol("Greeter", "class", 13),
      symbol("__init__", "method", 16, "Greeter"),
      symbol("title", "method", 20, "Greeter"),
      symbol("greet", "method", 23, "Greeter"),
      symbol("format_greeting", "function", 27),
      symbol("main", "function", 31)
    ]))
    expect(x.references).toEqual(expect.arrayContaining([
      reference("Base", "inherit", 13, "Greeter"),
      reference("format_greeting", "call", 24, "greet"),
      reference("Greeter", "call", 32, "main"),
      reference("str", "type", 27, "format_greeting")
    ]))
    expect(modules(x)).toEqual(["os.path", ".", "..pkg.mod", "collections"])
  })

  it("Go", async () => {
    const x = await extract("sample.go")
    expect(x.symbols).toEqual(expect.arrayContaining([
      symbol("Limit", "constant", 8),
      symbol("Shape", "interface", 12),
      symbol("Point", "class", 16),
      symbol("X", "field", 17, "Point"),
      symbol("Y", "field", 17, "Point"),
      symbol("Alias", "type", 20),
      symbol("Celsius", "type", 22),
      symbol("Area", "method", 24, "Point"),
      symbol("NewPoint", "function", 28)
    ]))
    expect(x.references).toEqual(expect.arrayContaining([
      reference("Square", "call", 25, "Area"),
      reference("NewPoint", "call", 34, "main"),
      reference("Point", "type", 28, "NewPoint")
    ]))
    expect(modules(x)).toEqual(["fmt", "example.com/x/pkg/util"])
  })

  it("Rust", async () => {
    const x = await extract("sample.rs")
    expect(x.symbols).toEqual(expect.arrayContaining([
      symbol("LIMIT", "constant", 5),
      symbol("Point", "class", 7),
      symbol("Shape", "enum", 12),
      symbol("Map", "type", 17),
      symbol("Area", "interface", 19),
      symbol("area", "method", 20, "Area"),
      symbol("area", "method", 24, "Point"),
      symbol("new", "method", 30, "Point"),
      symbol("square", "macro", 35),
      symbol("run", "function", 41)
    ]))
    expect(x.references).toEqual(expect.arrayContaining([
      reference("Area", "inherit", 23, null),
      reference("helper", "call", 25, "area"),
      reference("new", "call", 42, "run"),
      reference("square", "call", 44, "run")
    ]))
    expect(modules(x)).toEqual(["util", "std::collections::HashMap", "crate::util::helper"])
  })

  it("Java", async () => {
    const x = await extract("Sample.java")
    expect(x.symbols).toEqual(expect.arrayContaining([
      symbol("Sample", "class", 6),
      symbol("count", "field", 7, "Sample"),
      symbol("Sample", "constructor", 9, "Sample"),
      symbol("run", "method", 14, "Sample"),
      symbol("compute", "method", 19, "Sample"),
      symbol("Shape", "interface", 24),
      symbol("Color", "enum", 28)
    ]))
    expect(x.references).toEqual(expect.arrayContaining([
      reference("Base", "inherit", 6, "Sample"),
      reference("Runnable", "inherit", 6, "Sample"),
      reference("Helper", "call", 15, "run"),
      reference("compute", "call", 16, "run")
    ]))
    expect(modules(x)).toEqual(["java.util.List", "com.example.util.Helper"])
  })

  it("C", async () => {
    const x = await extract("sample.c")
    expect(x.symbols).toEqual(expect.arrayContaining([
      symbol("LIMIT", "macro", 4),
      symbol("point", "class", 7, "point_t"),
      symbol("point_t", "type", 10),
      symbol("compare_fn", "type", 12),
      symbol("color", "enum", 14),
      symbol("value", "class", 16),
      symbol("area", "function", 21),
      symbol("helper", "function", 23),
      symbol("area", "function", 27)
    ]))
    expect(x.references).toEqual(expect.arrayContaining([
      reference("SQUARE", "call", 24, "helper"),
      reference("helper", "call", 29, "area"),
      reference("point_t", "type", 27, "area")
    ]))
    expect(modules(x)).toEqual(["stdio.h", "util.h"])
  })

  it("C++", async () => {
    const x = await extract("sample.cpp")
    expect(x.symbols).toEqual(expect.arrayContaining([
      symbol("geo", "module", 4),
      symbol("Shape", "class", 6, "geo"),
      symbol("area", "method", 9, "Shape"),
      symbol("Circle", "class", 12, "geo"),
      symbol("Circle", "method", 14, "Circle"),
      symbol("area", "method", 20, "Circle"),
      symbol("compute", "function", 24, "geo"),
      symbol("main", "function", 30)
    ]))
    expect(x.references).toEqual(expect.arrayContaining([
      reference("Shape", "inherit", 12, "Circle"),
      reference("compute", "call", 21, "area"),
      reference("push_back", "call", 33, "main")
    ]))
    expect(modules(x)).toEqual(["vector", "shape.hpp"])
  })

  it("Ruby, where a bare name is a call unless it is a local variable", async () => {
    const x = await extract("sample.rb")
    expect(x.symbols).toEqual(expect.arrayContaining([
      symbol("Shapes", "module", 4),
      symbol("LIMIT", "constant", 5, "Shapes"),
      symbol("Circle", "class", 13, "Shapes"),
      symbol("initialize", "method", 16, "Circle"),
      symbol("area", "method", 20, "Circle"),
      symbol("unit", "method", 25, "Circle"),
      symbol("compute", "method", 31, "Circle")
    ]))
    expect(x.references).toEqual(expect.arrayContaining([
      reference("Base", "inherit", 13, "Circle"),
      reference("Comparable", "inherit", 14, "Circle"),
      reference("compute", "call", 21, "area"),
      reference("new", "call", 26, "unit")
    ]))
    // `total`, `radius` and `r` are locals and parameters, not calls.
    expect(x.references.filter((r) => ["total", "radius", "r"].includes(r.name))).toEqual([])
    expect(modules(x)).toEqual(["json", "helper"])
  })

  it("PHP", async () => {
    const x = await extract("sample.php")
    expect(x.symbols).toEqual(expect.arrayContaining([
      symbol("App\\Shapes", "module", 2),
      symbol("Shape", "interface", 7),
      symbol("Circle", "class", 12),
      symbol("LIMIT", "constant", 14, "Circle"),
      symbol("__construct", "method", 17, "Circle"),
      symbol("area", "method", 22, "Circle"),
      symbol("compute", "function", 28)
    ]))
    expect(x.references).toEqual(expect.arrayContaining([
      reference("Base", "inherit", 12, "Circle"),
      reference("square", "call", 24, "area"),
      reference("compute", "call", 24, "area")
    ]))
    expect(modules(x)).toEqual(["App\\Util\\Helper", "bootstrap.php"])
  })

  it("C#", async () => {
    const x = await extract("Sample.cs")
    expect(x.symbols).toEqual(expect.arrayContaining([
      symbol("App.Shapes", "module", 4),
      symbol("IShape", "interface", 6, "App.Shapes"),
      symbol("Circle", "class", 11, "App.Shapes"),
      symbol("Circle", "constructor", 15, "Circle"),
      symbol("Radius", "field", 20, "Circle"),
      symbol("Area", "method", 22, "Circle"),
      symbol("Point", "class", 34, "App.Shapes"),
      symbol("Color", "enum", 36, "App.Shapes")
    ]))
    expect(x.references).toEqual(expect.arrayContaining([
      reference("IShape", "inherit", 11, "Circle"),
      reference("Compute", "call", 24, "Area"),
      reference("WriteLine", "call", 29, "Compute")
    ]))
    expect(modules(x)).toEqual(["System", "System.Collections.Generic"])
  })
})

describe("Extractor: positions, errors and languages it does not know", () => {
  it("counts columns in UTF-16 code units, as JavaScript strings do", async () => {
    const outcome = await extractor.extract("Python", "s = 'é😀'; f = 1\ndef g(): pass\nx = 'é😀'; g()\n")
    const x = (outcome as Extract<ExtractionOutcome, { _tag: "Extracted" }>).extraction
    expect(x.symbols.find((s) => s.name === "g")).toMatchObject({ line: 2, column: 5 })
    expect(x.references.find((r) => r.name === "g")).toMatchObject({ line: 3, column: 12, enclosing: null })
  })

  it("keeps what it could read from a file with syntax errors, and says so", async () => {
    const outcome = await extractor.extract("Python", "def ok():\n    pass\n\ndef broken(:\n")
    expect(outcome._tag).toBe("Extracted")
    if (outcome._tag !== "Extracted") return
    expect(outcome.parseErrors).toBe(true)
    expect(outcome.extraction.symbols).toEqual(expect.arrayContaining([symbol("ok", "function", 1)]))
  })

  it("keeps what the TypeScript parser could read from a broken file, and says so", async () => {
    const outcome = await extractor.extract("TypeScript", "export function ok() {}\nfunction broken( {\n")
    expect(outcome._tag).toBe("Extracted")
    if (outcome._tag !== "Extracted") return
    expect(outcome.parseErrors).toBe(true)
    expect(outcome.extraction.symbols).toEqual(expect.arrayContaining([symbol("ok", "function", 1)]))
  })

  it("leaves out references to type parameters in scope, which are local names, and keeps a same-named type", async () => {
    const outcome = await extractor.extract(
      "TypeScript",
      [
        "type A = { a: 1 }",
        "export function f<A, B extends Array<A>>(a: A, b: B): Result<A> { return g<A>(a, b) }",
        "export type Mapped<T> = { [K in keyof T]: T[K] extends Promise<infer V> ? V : K }",
        "export const h = (a: A): A => a"
      ].join("\n")
    )
    if (outcome._tag !== "Extracted") throw new Error(outcome._tag)
    const types = outcome.extraction.references.filter((r) => r.kind === "type").map((r) => `${r.line} ${r.name}`)
    expect(types).toEqual(["2 Array", "2 Result", "3 Promise", "4 A", "4 A"])
    expect(outcome.extraction.references).toEqual(expect.arrayContaining([reference("g", "call", 2, "f")]))
  })

  it("reads C declarations that glibc-style macros decorate, without moving any position", async () => {
    const text = "__BEGIN_DECLS\n\nextern int foo (int __x) __THROW __nonnull ((1)) __wur;\n" +
      "typedef void *handle_t;\ntypedef __int8_t int8_t;\n__END_DECLS\n"
    const outcome = await extractor.extract("C", text)
    if (outcome._tag !== "Extracted") throw new Error(outcome._tag)
    expect(outcome.parseErrors).toBe(false)
    expect(outcome.extraction.symbols).toEqual(expect.arrayContaining([
      expect.objectContaining({ name: "foo", kind: "function", line: 3, column: 12 }),
      symbol("handle_t", "type", 4),
      symbol("int8_t", "type", 5)
    ]))
    expect(outcome.extraction.symbols.find((s) => s.name === "foo")?.signature).toContain("__THROW")
  })

  it("skips a language without a grammar", async () => {
    expect(await extractor.extract("Markdown", "# title")).toEqual({ _tag: "Skipped", reason: "unsupported_language" })
    expect(await extractor.extract(null, "")).toEqual({ _tag: "Skipped", reason: "unsupported_language" })
  })
})
