/** Characters per chunk before it ends at the next line break (bench/README.md, search: chunk size). */
export const CHUNK_CHARS = 3000

export interface Chunk {
  readonly chunkNo: number
  /** 1-based number of the chunk's first line. */
  readonly startLine: number
  /** An exact slice of the file, ending just after a line break (or at the end of the file). */
  readonly content: string
}

/**
 * Splits a file into line-aligned chunks whose concatenation is the file. A chunk ends at the last line
 * break within CHUNK_CHARS, or after its one line when that line alone is longer.
 */
export const chunksOf = (text: string): Array<Chunk> => {
  const chunks: Array<Chunk> = []
  let start = 0
  let line = 1
  while (start < text.length) {
    let end: number
    if (text.length - start <= CHUNK_CHARS) end = text.length
    else {
      const last = text.lastIndexOf("\n", start + CHUNK_CHARS - 1)
      const next = last >= start ? last : text.indexOf("\n", start + CHUNK_CHARS)
      end = next === -1 ? text.length : next + 1
    }
    const content = text.slice(start, end)
    chunks.push({ chunkNo: chunks.length, startLine: line, content })
    for (let i = content.indexOf("\n"); i !== -1; i = content.indexOf("\n", i + 1)) line++
    start = end
  }
  return chunks
}

/**
 * The case-folded form the trigram index covers: a literal that matches a line case-insensitively
 * (`/…/iu`) occurs in the folded line as the folded literal, for all but a few special-casing letters.
 */
export const fold = (text: string): string => text.toUpperCase().toLowerCase()
