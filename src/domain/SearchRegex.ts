/**
 * RE2-syntax regular expressions (what zoekt, Sourcegraph and GitHub accept) translated to JavaScript
 * RegExp source with the `u` flag, plus the literals any match must contain, which narrow the chunks a
 * search reads. Backreferences, lookaround and inline flags other than a leading `(?i)` are refused.
 */

export class RegexError {
  readonly _tag = "RegexError"
  constructor(readonly position: number, readonly problem: string) {}
}

/** What a matching line must contain: literals (case-folded by the caller), combined with and/or. */
export type Required =
  | { readonly _tag: "any" }
  | { readonly _tag: "literal"; readonly text: string }
  | { readonly _tag: "and"; readonly items: ReadonlyArray<Required> }
  | { readonly _tag: "or"; readonly items: ReadonlyArray<Required> }

const ANY: Required = { _tag: "any" }

type Node =
  | { readonly t: "lit"; readonly c: string }
  | { readonly t: "set"; readonly js: string }
  | { readonly t: "assert"; readonly js: string }
  | { readonly t: "group"; readonly body: Node }
  | { readonly t: "alt"; readonly items: ReadonlyArray<Node> }
  | { readonly t: "concat"; readonly items: ReadonlyArray<Node> }
  | { readonly t: "repeat"; readonly node: Node; readonly min: number; readonly max: number; readonly js: string }

const MAX_REPEAT = 1000
const SYNTAX = new Set([..."\\^$.|?*+()[]{}/"])
const escapeChar = (c: string) => SYNTAX.has(c) ? `\\${c}` : c === "\n" ? "\\n" : c === "\r" ? "\\r" : c
const hex = (c: string) => `\\u{${c.codePointAt(0)!.toString(16)}}`
const escapeInClass = (c: string) => "\\]^-[/".includes(c) ? `\\${c}` : /[\s]/.test(c) || c < " " ? hex(c) : c

const POSIX: Record<string, string> = {
  alnum: "0-9A-Za-z",
  alpha: "A-Za-z",
  ascii: "\\u{0}-\\u{7f}",
  blank: "\\t ",
  cntrl: "\\u{0}-\\u{1f}\\u{7f}",
  digit: "0-9",
  graph: "!-~",
  lower: "a-z",
  print: " -~",
  punct: "!-\\/:-@\\[-`{-~",
  space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z",
  word: "0-9A-Za-z_",
  xdigit: "0-9A-Fa-f"
}
const PERL: Record<string, string> = { d: "0-9", s: "\\t\\n\\f\\r ", w: "0-9A-Za-z_" }
const CONTROL: Record<string, string> = { a: "\u0007", f: "\f", t: "\t", n: "\n", r: "\r", v: "\v" }

class Parser {
  i = 0
  readonly chars: Array<string>
  readonly offsets: Array<number>
  caseInsensitive = false
  constructor(readonly source: string, readonly base: number) {
    this.chars = []
    this.offsets = []
    let offset = 0
    for (const c of source) {
      this.chars.push(c)
      this.offsets.push(offset)
      offset += c.length
    }
    this.offsets.push(offset)
  }
  fail(problem: string, at = this.i): never {
    throw new RegexError(this.base + this.offsets[Math.min(at, this.chars.length)]!, problem)
  }
  peek(k = 0) {
    return this.chars[this.i + k]
  }
  eat(s: string) {
    for (let k = 0; k < s.length; k++) if (this.chars[this.i + k] !== s[k]) return false
    this.i += s.length
    return true
  }

  parseAlt(depth: number): Node {
    const items = [this.parseConcat(depth)]
    while (this.peek() === "|") {
      this.i++
      items.push(this.parseConcat(depth))
    }
    return items.length === 1 ? items[0]! : { t: "alt", items }
  }

  parseConcat(depth: number): Node {
    const items: Array<Node> = []
    for (;;) {
      const c = this.peek()
      if (c === undefined || c === "|" || (c === ")" && depth > 0)) break
      if (c === ")") this.fail("unmatched )")
      if ("*+?".includes(c) || (c === "{" && this.repetitionAhead())) {
        this.fail("missing argument to repetition operator")
      }
      const atom = this.parseAtom(depth)
      if (atom === null) continue
      items.push(this.parseRepeat(atom))
    }
    return items.length === 1 ? items[0]! : { t: "concat", items }
  }

  repetitionAhead() {
    const rest = this.chars.slice(this.i, this.i + 24).join("")
    return /^\{\d+(,\d*)?\}/.test(rest)
  }

  parseRepeat(atom: Node): Node {
    let node = atom
    let repeated = false
    for (;;) {
      const start = this.i
      const c = this.peek()
      let min: number
      let max: number
      if (c === "*") [min, max] = [0, Infinity]
      else if (c === "+") [min, max] = [1, Infinity]
      else if (c === "?") [min, max] = [0, 1]
      else if (c === "{" && this.repetitionAhead()) {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(this.chars.slice(this.i, this.i + 24).join(""))!
        min = Number(m[1])
        max = m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3])
        if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT) || max < min) {
          this.fail("bad repetition count (at most 1000)")
        }
        this.i += m[0].length - 1
      } else return node
      this.i++
      if (repeated) this.fail("bad repetition operator", start)
      repeated = true
      if (node.t === "assert") this.fail("repetition of an empty-width assertion", start)
      const lazy = this.eat("?")
      const op = c === "{" ? `{${min}${max === min ? "" : `,${max === Infinity ? "" : max}`}}` : c
      node = { t: "repeat", node, min, max, js: op + (lazy ? "?" : "") }
    }
  }

  parseAtom(depth: number): Node | null {
    const start = this.i
    const c = this.chars[this.i++]!
    if (c === "(") return this.parseGroup(start, depth)
    if (c === "[") return this.parseClass(start)
    if (c === ".") return { t: "set", js: "[^\\n]" }
    if (c === "^") return { t: "assert", js: "^" }
    if (c === "$") return { t: "assert", js: "$" }
    if (c === "\\") return this.parseEscape(start, false)
    return this.literal(c)
  }

  literal(c: string): Node {
    return { t: "lit", c }
  }

  parseGroup(start: number, depth: number): Node | null {
    if (this.eat("?")) {
      if (this.eat("=") || this.eat("!") || this.eat("<=") || this.eat("<!")) {
        this.fail("lookaround is not supported", start)
      }
      if (this.eat("P<") || this.eat("<")) {
        const name = /^[A-Za-z_][A-Za-z0-9_]*>/.exec(this.chars.slice(this.i, this.i + 64).join(""))
        if (name === null) this.fail("invalid named group", start)
        this.i += name[0].length
      } else if (!this.eat(":")) {
        const flags = /^(-?[imsU]+|[imsU]+-[imsU]+)(\)|:)/.exec(this.chars.slice(this.i, this.i + 16).join(""))
        if (flags === null) this.fail("invalid or unsupported group", start)
        this.i += flags[0].length
        const [on, off = ""] = flags[1]!.split("-")
        if (off.includes("i") || on!.includes("U") || off.includes("U")) {
          this.fail("only the flags i, s and m are supported", start)
        }
        if (on!.includes("i")) {
          if (start !== 0 || flags[2] === ":") this.fail("(?i) is supported only at the start of a regex", start)
          this.caseInsensitive = true
        }
        // s and m change nothing when a line is matched alone.
        if (flags[2] === ")") return null
      }
    }
    const body = this.parseAlt(depth + 1)
    if (!this.eat(")")) this.fail("missing )", start)
    return { t: "group", body }
  }

  parseEscape(start: number, inClass: boolean): Node {
    const c = this.chars[this.i++]
    if (c === undefined) this.fail("trailing backslash", start)
    if (/[1-9]/.test(c)) this.fail("backreferences are not supported", start)
    if (c in PERL) return { t: "set", js: `[${PERL[c]}]` }
    if (c.toLowerCase() in PERL && c !== c.toLowerCase()) return { t: "set", js: `[^${PERL[c.toLowerCase()]}]` }
    if (c in CONTROL) return this.literal(CONTROL[c]!)
    if (c === "0") {
      const digits = /^[0-7]{0,2}/.exec(this.chars.slice(this.i, this.i + 2).join(""))![0]
      this.i += digits.length
      return this.literal(String.fromCodePoint(parseInt(`0${digits}`, 8)))
    }
    if (c === "x") {
      const m = /^(\{([0-9A-Fa-f]{1,6})\}|[0-9A-Fa-f]{2})/.exec(this.chars.slice(this.i, this.i + 9).join(""))
      if (m === null) this.fail("invalid \\x escape", start)
      const code = parseInt(m[2] ?? m[1]!, 16)
      if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) this.fail("invalid code point", start)
      this.i += m[0].length
      return this.literal(String.fromCodePoint(code))
    }
    if (c === "p" || c === "P") {
      let name: string
      if (this.eat("{")) {
        const m = /^\^?[A-Za-z_]+\}/.exec(this.chars.slice(this.i, this.i + 40).join(""))
        if (m === null) this.fail("invalid \\p{…} class", start)
        name = m[0].slice(0, -1)
        this.i += m[0].length
      } else {
        name = this.chars[this.i++] ?? ""
        if (!/^[A-Za-z]$/.test(name)) this.fail("invalid \\p class", start)
      }
      let negated = c === "P"
      if (name.startsWith("^")) {
        negated = !negated
        name = name.slice(1)
      }
      const js = name === "Any" ? "[\\s\\S]" : `\\${negated ? "P" : "p"}{${name.length <= 2 ? name : `Script=${name}`}}`
      try {
        new RegExp(js, "u")
      } catch {
        this.fail(`unknown Unicode class ${name}`, start)
      }
      return { t: "set", js: name === "Any" && negated ? "[^\\s\\S]" : js }
    }
    if (!inClass) {
      if (c === "b") return { t: "assert", js: "\\b" }
      if (c === "B") return { t: "assert", js: "\\B" }
      if (c === "A") return { t: "assert", js: "^" }
      if (c === "z") return { t: "assert", js: "$" }
      if (c === "Q") {
        const items: Array<Node> = []
        while (this.i < this.chars.length && !this.eat("\\E")) items.push(this.literal(this.chars[this.i++]!))
        return { t: "group", body: { t: "concat", items } }
      }
    }
    if (/[A-Za-z0-9]/.test(c)) this.fail(`invalid escape \\${c}`, start)
    return this.literal(c)
  }

  parseClass(start: number): Node {
    let negated = this.eat("^")
    const parts: Array<string> = []
    let first = true
    for (;;) {
      const c = this.peek()
      if (c === undefined) this.fail("missing closing ]", start)
      if (c === "]" && !first) {
        this.i++
        break
      }
      first = false
      const posix = /^\[:(\^?)([a-z]+):\]/.exec(this.chars.slice(this.i, this.i + 12).join(""))
      if (posix !== null) {
        const set = POSIX[posix[2]!]
        if (set === undefined) this.fail(`unknown class [:${posix[2]}:]`)
        if (posix[1] === "^") {
          if (parts.length > 0 || this.chars[this.i + posix[0].length] !== "]") {
            this.fail("a negated POSIX class must be alone in its brackets")
          }
          negated = !negated
        }
        parts.push(set)
        this.i += posix[0].length
        continue
      }
      const low = this.classAtom(start)
      if (typeof low !== "string") {
        parts.push(low.js)
        continue
      }
      if (this.peek() === "-" && this.peek(1) !== "]" && this.peek(1) !== undefined) {
        this.i++
        const high = this.classAtom(start)
        if (typeof high !== "string") this.fail("invalid class range")
        if (high.codePointAt(0)! < low.codePointAt(0)!) this.fail("invalid class range")
        parts.push(`${escapeInClass(low)}-${escapeInClass(high)}`)
      } else parts.push(escapeInClass(low))
    }
    return { t: "set", js: `[${negated ? "^" : ""}${parts.join("")}]` }
  }

  /** A single character, or a set such as \d. */
  classAtom(start: number): string | { js: string } {
    const c = this.chars[this.i++]!
    if (c !== "\\") return c
    const node = this.parseEscape(start, true)
    if (node.t === "lit") return node.c
    if (node.t === "set") {
      return { js: node.js.startsWith("[") && !node.js.startsWith("[^") ? node.js.slice(1, -1) : node.js }
    }
    return this.fail("invalid escape in class")
  }
}

const emit = (node: Node): string => {
  switch (node.t) {
    case "lit":
      return escapeChar(node.c)
    case "set":
    case "assert":
      return node.js
    case "group":
      return `(?:${emit(node.body)})`
    case "alt":
      return node.items.map(emit).join("|")
    case "concat":
      return node.items.map((n) => n.t === "alt" ? `(?:${emit(n)})` : emit(n)).join("")
    case "repeat": {
      const inner = emit(node.node)
      const atomic = node.node.t === "lit" || node.node.t === "set" || node.node.t === "group"
      return `${atomic ? inner : `(?:${inner})`}${node.js}`
    }
  }
}

const MAX_EXACT = 16

/** The strings a node matches exactly (null when too many or unbounded), and what it requires. */
const analyse = (node: Node): { exact: Array<string> | null; required: Required } => {
  switch (node.t) {
    case "lit":
      return { exact: [node.c], required: ANY }
    case "assert":
      return { exact: [""], required: ANY }
    case "set":
      return { exact: null, required: ANY }
    case "group":
      return analyse(node.body)
    case "alt": {
      const parts = node.items.map(analyse)
      const exact = parts.every((p) => p.exact !== null) ? parts.flatMap((p) => p.exact!) : null
      if (exact !== null && exact.length <= MAX_EXACT) return { exact, required: ANY }
      return { exact: null, required: or(parts.map(requiredOf)) }
    }
    case "concat": {
      const required: Array<Required> = []
      let current: Array<string> | null = [""]
      for (const item of node.items.map(analyse)) {
        if (item.exact !== null && current !== null && current.length * item.exact.length <= MAX_EXACT) {
          current = current.flatMap((a) => item.exact!.map((b) => a + b))
          continue
        }
        if (current !== null) required.push(or(current.map(literal)))
        if (item.exact !== null) current = item.exact
        else {
          current = [""]
          required.push(item.required)
        }
      }
      if (required.every((r) => r._tag === "any")) return { exact: current, required: ANY }
      if (current !== null) required.push(or(current.map(literal)))
      return { exact: null, required: and(required) }
    }
    case "repeat": {
      if (node.min === 0) return { exact: null, required: ANY }
      const inner = analyse(node.node)
      if (node.min === 1 && node.max === 1) return inner
      return { exact: null, required: requiredOf(inner) }
    }
  }
}

const literal = (text: string): Required => text === "" ? ANY : { _tag: "literal", text }
const requiredOf = (a: { exact: Array<string> | null; required: Required }) =>
  a.exact === null ? a.required : or(a.exact.map(literal))
const or = (items: ReadonlyArray<Required>): Required =>
  items.length === 0 || items.some((r) => r._tag === "any")
    ? ANY
    : items.length === 1
    ? items[0]!
    : { _tag: "or", items }
const and = (items: ReadonlyArray<Required>): Required => {
  const kept = items.filter((r) => r._tag !== "any")
  return kept.length === 0 ? ANY : kept.length === 1 ? kept[0]! : { _tag: "and", items: kept }
}

export interface TranslatedRegex {
  /** JavaScript source for `new RegExp(source, "u")` (add `i` when caseInsensitive or the search is). */
  readonly source: string
  /** A leading `(?i)`. */
  readonly caseInsensitive: boolean
  readonly required: Required
}

/** Translates RE2 `source`; `position` is where it starts in the query, for error positions. */
export const translateRegex = (source: string, position = 0): TranslatedRegex => {
  const parser = new Parser(source, position)
  const tree = parser.parseAlt(0)
  if (parser.i < parser.chars.length) parser.fail("unmatched )")
  const js = emit(tree)
  try {
    new RegExp(js, "u")
  } catch (cause) {
    throw new RegexError(position, `invalid regex (${cause instanceof Error ? cause.message : String(cause)})`)
  }
  return { source: js, caseInsensitive: parser.caseInsensitive, required: requiredOf(analyse(tree)) }
}
