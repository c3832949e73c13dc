import { describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { expect } from "vitest"
import type { SearchQuery } from "../../src/domain/SearchQuery.js"
import { parseQuery, printQuery, QueryError } from "../../src/domain/SearchQuery.js"
import { translateRegex } from "../../src/domain/SearchRegex.js"

const error = (q: string) => {
  try {
    parseQuery(q)
  } catch (e) {
    if (e instanceof QueryError) return { position: e.position, problem: e.problem }
    throw e
  }
  throw new Error(`${q} parsed`)
}

const texts = (query: SearchQuery) =>
  query.patterns.map((p) => p._tag === "Regex" ? `/${p.source}/` : `${p._tag}:${p.text}`)

const regexMatches = (source: string, line: string, flags = "u") =>
  new RegExp(translateRegex(source).source, flags).test(line)

describe("SearchQuery", () => {
  it("reads the rest of the text as one literal, spaces and punctuation included", () => {
    expect(texts(parseQuery("import { Schema } from"))).toEqual(["Literal:import { Schema } from"])
    expect(texts(parseQuery("=> {"))).toEqual(["Literal:=> {"])
    expect(texts(parseQuery("a  b"))).toEqual(["Literal:a  b"])
    expect(texts(parseQuery("http://example.com/x"))).toEqual(["Literal:http://example.com/x"])
    expect(texts(parseQuery("foo path:src bar"))).toEqual(["Literal:foo bar"])
  })

  it("reads filters, phrases and regexes", () => {
    const query = parseQuery(
      "\"my phrase\" /create(Server|Client)/ path:src/**/*.ts -path:\"my dir/\" lang:ts -lang:JSON repo:acme case:yes type:file"
    )
    expect(texts(query)).toEqual(["Phrase:my phrase", "/create(Server|Client)/"])
    expect(query.paths).toEqual([{ value: "src/**/*.ts", negated: false }, { value: "my dir/", negated: true }])
    expect(query.languages).toEqual([{ name: "TypeScript", negated: false }, { name: "JSON", negated: true }])
    expect(query.repos).toEqual(["acme"])
    expect(query.caseSensitive).toBe(true)
    expect(query.typeFile).toBe(true)
    expect(parseQuery("lang:typescript x").languages).toEqual([{ name: "TypeScript", negated: false }])
    expect(parseQuery("\"a \\\"quoted\\\" word\"").patterns).toEqual([{ _tag: "Phrase", text: "a \"quoted\" word" }])
    expect(parseQuery("path:src").patterns).toEqual([])
  })

  it("reads sym: as names a file must define, beside the other filters and patterns", () => {
    const query = parseQuery("sym:main lang:go sym:\"Server\" listen(")
    expect(query.symbols).toEqual(["main", "Server"])
    expect(query.languages).toEqual([{ name: "Go", negated: false }])
    expect(texts(query)).toEqual(["Literal:listen("])
    expect(parseQuery("sym:main").patterns).toEqual([])
    expect(parseQuery("sym:main").symbols).toEqual(["main"])
    expect(parseQuery("foo").symbols).toEqual([])
    expect(error("-sym:main")).toMatchObject({ position: 0, problem: "sym: cannot be negated" })
    expect(error("x sym:")).toMatchObject({ position: 2, problem: "sym: needs a value" })
  })

  it("refuses what it cannot mean, with the position", () => {
    expect(error("foo \"open")).toEqual({ position: 4, problem: "unterminated phrase" })
    expect(error("x /unterminated")).toMatchObject({ position: 2 })
    expect(error("lang:klingon x")).toMatchObject({ position: 5, problem: "unknown language klingon" })
    expect(error("/.*/")).toMatchObject({ position: 0, problem: expect.stringContaining("every line") })
    expect(error("/a(b/")).toMatchObject({ position: 2, problem: "missing )" })
    expect(error("/(a)\\1/")).toMatchObject({ position: 4, problem: "backreferences are not supported" })
    expect(error("/a(?=b)/")).toMatchObject({ problem: "lookaround is not supported" })
    expect(error("/a(?<!b)/")).toMatchObject({ problem: "lookaround is not supported" })
    expect(error("case:maybe x")).toMatchObject({ position: 5 })
    expect(error("type:symbol x")).toMatchObject({ position: 5 })
    expect(error("-repo:x y")).toMatchObject({ position: 0 })
    expect(error("path: x")).toMatchObject({ position: 0 })
    expect(error("/a/ /x{1001}/")).toMatchObject({ position: 6 })
    expect(error("/x(?i)y/")).toMatchObject({ position: 2 })
  })

  it("translates RE2 to JavaScript that matches as RE2 does", () => {
    expect(regexMatches("\\bcreate(Server|Client)\\b", "xcreateServer(x)")).toBe(false)
    expect(regexMatches("\\bcreate(Server|Client)\\b", "createClient()")).toBe(true)
    expect(regexMatches("a\\/b", "a/b")).toBe(true)
    expect(regexMatches("[[:digit:]]{3}-\\d", "call 555-1")).toBe(true)
    expect(regexMatches("\\Qa.b\\E", "axb")).toBe(false)
    expect(regexMatches("a.b", "a\rb")).toBe(true)
    expect(regexMatches("\\x{41}\\pL", "AB")).toBe(true)
    expect(regexMatches("[^a-c]", "abc")).toBe(false)
    expect(regexMatches("x{2,3}", "xx")).toBe(true)
    expect(regexMatches("\\s", "\u00a0")).toBe(false)
    const insensitive = translateRegex("(?i)hello")
    expect(insensitive.caseInsensitive).toBe(true)
  })

  it("derives the literals every match contains", () => {
    expect(translateRegex("createServer").required).toEqual({ _tag: "literal", text: "createServer" })
    expect(translateRegex("\\bcreate(Server|Client)\\b").required).toEqual({
      _tag: "or",
      items: [{ _tag: "literal", text: "createServer" }, { _tag: "literal", text: "createClient" }]
    })
    expect(translateRegex("import .* from").required).toEqual({
      _tag: "and",
      items: [{ _tag: "literal", text: "import " }, { _tag: "literal", text: " from" }]
    })
    expect(translateRegex("\\d+").required).toEqual({ _tag: "any" })
    expect(translateRegex("(foo)?bar").required).toEqual({ _tag: "literal", text: "bar" })
  })

  it("never throws anything but QueryError", () =>
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 60 }),
          fc.stringOf(
            fc.constantFrom(
              "/",
              "\"",
              "\\",
              "(",
              ")",
              "[",
              "]",
              "a",
              " ",
              ":",
              "path",
              "lang:",
              "-",
              "*",
              "?",
              "{",
              "}",
              "|"
            ),
            {
              maxLength: 30
            }
          )
        ),
        (q) => {
          try {
            parseQuery(q)
          } catch (e) {
            if (!(e instanceof QueryError)) throw e
            expect(e.position).toBeGreaterThanOrEqual(0)
            expect(e.position).toBeLessThanOrEqual(q.length)
          }
        }
      ),
      { numRuns: 3000 }
    ))

  it("prints a query that parses back to itself", () =>
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.stringOf(fc.constantFrom("a", "b", "(", ")", "=", ">", "{", "}", ".", "*", "_", "x"), {
              minLength: 1,
              maxLength: 8
            }),
            fc.string({ minLength: 1, maxLength: 6 }).map((s) => `"${s.replace(/["\\]/g, "")}x"`),
            fc.constantFrom("/ab+c/", "/create(Server|Client)\\b/", "/[a-z]{2}\\d/", "/a\\/b/"),
            fc.constantFrom(
              "path:src/**",
              "-path:\"my dir/\"",
              "lang:ts",
              "-lang:json",
              "repo:acme",
              "case:yes",
              "type:file",
              "sym:main",
              "sym:\"a b\""
            )
          ),
          { maxLength: 6 }
        ),
        (tokens) => {
          let query: SearchQuery
          try {
            query = parseQuery(tokens.join(" "))
          } catch (e) {
            if (e instanceof QueryError) return
            throw e
          }
          expect(parseQuery(printQuery(query))).toEqual(query)
        }
      ),
      { numRuns: 2000 }
    ))
})
