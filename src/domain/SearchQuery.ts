import type { Language } from "linguist-languages"
import * as linguist from "linguist-languages"
import type { Required } from "./SearchRegex.js"
import { RegexError, translateRegex } from "./SearchRegex.js"

/**
 * The code search query language of SPEC section 9, shared by HTTP and MCP: `key:value` filters, `"phrases"`,
 * `/regexes/` (RE2 syntax) and one literal made of the rest of the text.
 */

export type Pattern =
  | { readonly _tag: "Literal"; readonly text: string }
  | { readonly _tag: "Phrase"; readonly text: string }
  | {
    readonly _tag: "Regex"
    /** As written between the slashes. */
    readonly source: string
    /** JavaScript source for `new RegExp(js, "u")`. */
    readonly js: string
    readonly caseInsensitive: boolean
    readonly required: Required
  }

export interface PathFilter {
  readonly value: string
  readonly negated: boolean
}

export interface LanguageFilter {
  /** The Linguist name. */
  readonly name: string
  readonly negated: boolean
}

export interface SearchQuery {
  /** The literal first (when there is one), then phrases and regexes in the order written. */
  readonly patterns: ReadonlyArray<Pattern>
  readonly paths: ReadonlyArray<PathFilter>
  readonly languages: ReadonlyArray<LanguageFilter>
  readonly repos: ReadonlyArray<string>
  /**
   * `sym:` names: the file must define each (the symbol index, case-insensitive unless `case:yes`), and its
   * definition lines are reported as matches, beside the lines matching any pattern.
   */
  readonly symbols: ReadonlyArray<string>
  readonly caseSensitive: boolean
  readonly typeFile: boolean
}

export class QueryError {
  readonly _tag = "QueryError"
  constructor(readonly position: number, readonly problem: string) {}
  get message() {
    return `at ${this.position}: ${this.problem}`
  }
}

const LANGUAGES = new Map<string, string>()
for (const language of Object.values(linguist) as ReadonlyArray<Language>) {
  for (const alias of language.aliases ?? []) {
    if (!LANGUAGES.has(alias.toLowerCase())) LANGUAGES.set(alias.toLowerCase(), language.name)
  }
}
for (const language of Object.values(linguist) as ReadonlyArray<Language>) {
  LANGUAGES.set(language.name.toLowerCase(), language.name)
}

/** The Linguist name of a language name or alias, case-insensitive. */
export const languageNamed = (value: string): string | undefined => LANGUAGES.get(value.toLowerCase())

const KEYS = new Set(["path", "lang", "repo", "case", "type", "sym"])
const NEGATABLE = new Set(["path", "lang"])
const isSpace = (c: string | undefined) => c === " " || c === "\t"
const MAX_VALUE_ECHO = 40
const echo = (s: string) => s.length > MAX_VALUE_ECHO ? `${s.slice(0, MAX_VALUE_ECHO)}…` : s

/** A quoted string starting at `start` (the opening quote); its value and the index after the closing quote. */
const readQuoted = (q: string, start: number, what: string) => {
  let value = ""
  let i = start + 1
  for (;;) {
    const c = q[i]
    if (c === undefined) throw new QueryError(start, `unterminated ${what}`)
    if (c === "\\" && (q[i + 1] === "\"" || q[i + 1] === "\\")) {
      value += q[i + 1]
      i += 2
    } else if (c === "\"") return { value, end: i + 1 }
    else {
      value += c
      i++
    }
  }
}

/** A regex starting at `start` (the opening slash): its source and the index after the closing slash. */
const readRegex = (q: string, start: number) => {
  let i = start + 1
  let inClass = false
  for (;;) {
    const c = q[i]
    if (c === undefined) {
      throw new QueryError(start, "unterminated regex (a literal starting with / can be a \"phrase\")")
    }
    if (c === "\\") i += 2
    else if (c === "[" && !inClass) {
      inClass = true
      i++
      if (q[i] === "^") i++
      if (q[i] === "]") i++
    } else if (c === "]" && inClass) {
      inClass = false
      i++
    } else if (c === "/" && !inClass && (i + 1 === q.length || isSpace(q[i + 1]))) {
      return { source: q.slice(start + 1, i), end: i + 1 }
    } else i++
  }
}

/** Parses `q`; throws QueryError (with a 0-based position in `q`) for anything it cannot mean. */
export const parseQuery = (q: string): SearchQuery => {
  const literalParts: Array<string> = []
  const patterns: Array<Pattern> = []
  const paths: Array<PathFilter> = []
  const languages: Array<LanguageFilter> = []
  const repos: Array<string> = []
  const symbols: Array<string> = []
  let caseSensitive: boolean | undefined
  let typeFile = false
  let piece = ""
  const flush = () => {
    if (piece !== "") literalParts.push(piece)
    piece = ""
  }
  let i = 0
  while (i < q.length) {
    const atToken = i === 0 || isSpace(q[i - 1])
    if (!atToken) {
      piece += q[i++]
      continue
    }
    const filter = /^(-?)([a-z]+):/.exec(q.slice(i, i + 8))
    if (filter !== null && KEYS.has(filter[2]!)) {
      const [, minus, key] = filter as unknown as [string, string, string]
      const valueStart = i + filter[0].length
      let value: string
      let end: number
      if (q[valueStart] === "\"") ({ end, value } = readQuoted(q, valueStart, `quoted ${key}: value`))
      else {
        end = valueStart
        while (end < q.length && !isSpace(q[end])) end++
        value = q.slice(valueStart, end)
      }
      if (value === "") throw new QueryError(i, `${key}: needs a value`)
      if (minus === "-" && !NEGATABLE.has(key)) throw new QueryError(i, `${key}: cannot be negated`)
      const negated = minus === "-"
      if (key === "path") paths.push({ value, negated })
      else if (key === "lang") {
        const name = languageNamed(value)
        if (name === undefined) throw new QueryError(valueStart, `unknown language ${echo(value)}`)
        languages.push({ name, negated })
      } else if (key === "repo") repos.push(value)
      else if (key === "case") {
        if (value !== "yes" && value !== "no") throw new QueryError(valueStart, "case: is yes or no")
        caseSensitive = value === "yes"
      } else if (key === "type") {
        if (value !== "file") throw new QueryError(valueStart, "type: can only be file")
        typeFile = true
      } else symbols.push(value)
      flush()
      i = skipSpaces(q, end)
      continue
    }
    if (q[i] === "\"") {
      const { end, value } = readQuoted(q, i, "phrase")
      if (value === "") throw new QueryError(i, "empty phrase")
      patterns.push({ _tag: "Phrase", text: value })
      flush()
      i = skipSpaces(q, end)
      continue
    }
    // `//` (a comment marker, a URL's) is text: an empty regex means nothing.
    if (q[i] === "/" && q[i + 1] !== "/") {
      const { end, source } = readRegex(q, i)
      if (source === "") throw new QueryError(i, "empty regex")
      let translated
      try {
        translated = translateRegex(source, i + 1)
      } catch (error) {
        if (error instanceof RegexError) throw new QueryError(error.position, error.problem)
        throw error
      }
      if (new RegExp(translated.source, "u").test("")) {
        throw new QueryError(i, "the regex matches every line (it matches the empty string)")
      }
      patterns.push({
        _tag: "Regex",
        source,
        js: translated.source,
        caseInsensitive: translated.caseInsensitive,
        required: translated.required
      })
      flush()
      i = skipSpaces(q, end)
      continue
    }
    piece += q[i++]
  }
  flush()
  const literal = literalParts.map((p) => p.trim()).filter((p) => p !== "").join(" ")
  return {
    patterns: literal === "" ? patterns : [{ _tag: "Literal", text: literal }, ...patterns],
    paths,
    languages,
    repos,
    symbols,
    caseSensitive: caseSensitive ?? false,
    typeFile
  }
}

const skipSpaces = (q: string, i: number) => {
  while (isSpace(q[i])) i++
  return i
}

const quote = (s: string) => `"${s.replace(/[\\"]/g, "\\$&")}"`
const filterValue = (s: string) => /^[^\s"]+$/.test(s) && !s.startsWith("\"") ? s : quote(s)

/** A query text that parses back to `query`. */
export const printQuery = (query: SearchQuery): string =>
  [
    ...query.patterns.map((p) => p._tag === "Literal" ? p.text : p._tag === "Phrase" ? quote(p.text) : `/${p.source}/`),
    ...query.paths.map((p) => `${p.negated ? "-" : ""}path:${filterValue(p.value)}`),
    ...query.languages.map((l) => `${l.negated ? "-" : ""}lang:${filterValue(l.name)}`),
    ...query.repos.map((r) => `repo:${filterValue(r)}`),
    ...query.symbols.map((name) => `sym:${filterValue(name)}`),
    ...(query.caseSensitive ? ["case:yes"] : []),
    ...(query.typeFile ? ["type:file"] : [])
  ].join(" ")
