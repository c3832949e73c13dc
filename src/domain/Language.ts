import type { Language } from "linguist-languages"
import * as linguist from "linguist-languages"

type Entry = { readonly name: string; readonly rank: number; readonly primary: boolean }
const TYPE_RANK: Record<string, number> = { programming: 0, markup: 1, data: 2, prose: 3 }

const byExtension = new Map<string, Entry>()
const byFilename = new Map<string, string>()

// Linguist settles these shared extensions by looking at the content; we only see the name, so the
// overwhelmingly common reading wins.
const PREFERRED: Record<string, string> = {
  ".md": "Markdown",
  ".html": "HTML",
  ".htm": "HTML",
  ".txt": "Text",
  ".yaml": "YAML",
  ".cfg": "INI",
  ".rs": "Rust",
  ".h": "C",
  ".m": "Objective-C",
  ".pl": "Perl",
  ".pm": "Perl",
  ".sql": "SQL",
  ".v": "Verilog",
  ".fs": "F#",
  ".cs": "C#",
  ".r": "R",
  ".inc": "PHP",
  ".t": "Perl",
  ".d": "D",
  ".ms": "Roff",
  ".l": "Lex",
  ".cls": "Apex",
  ".sc": "Scala",
  ".sol": "Solidity"
}

// Otherwise an extension claimed by several languages goes to the one whose main extension it is,
// then to a programming language over markup, data and prose, then to the first by name.
for (const language of Object.values(linguist) as ReadonlyArray<Language>) {
  const rank = TYPE_RANK[language.type] ?? 4
  for (const filename of language.filenames ?? []) {
    if (!byFilename.has(filename)) byFilename.set(filename, language.name)
  }
  for (const [i, extension] of (language.extensions ?? []).entries()) {
    const key = extension.toLowerCase()
    const candidate: Entry = { name: language.name, rank, primary: i === 0 }
    const current = byExtension.get(key)
    const better = current === undefined || (candidate.primary && !current.primary) ||
      (candidate.primary === current.primary && candidate.rank < current.rank)
    if (better) byExtension.set(key, candidate)
  }
}

for (const [extension, name] of Object.entries(PREFERRED)) byExtension.set(extension, { name, rank: 0, primary: true })

/** The language of a file from its name (GitHub Linguist's data), or null when unknown. */
export const languageOf = (path: string): string | null => {
  const name = path.slice(path.lastIndexOf("/") + 1)
  const exact = byFilename.get(name)
  if (exact !== undefined) return exact
  // Longest suffix first, so `.d.ts` or `.spec.ts`-like compound extensions can win when known.
  for (let dot = name.indexOf("."); dot !== -1; dot = name.indexOf(".", dot + 1)) {
    const found = byExtension.get(name.slice(dot).toLowerCase())
    if (found !== undefined) return found.name
  }
  return null
}
