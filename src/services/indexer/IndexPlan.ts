import { languageOf } from "../../domain/Language.js"
import type { IndexedFile } from "../stores/IndexedFileStore.js"
import type { TreeDiff, TreeEntry } from "./GitObjects.js"

// Git's own test for binary content: a NUL byte in the first 8000 bytes.
const BINARY_SNIFF_BYTES = 8000

export interface Skipped {
  readonly path: string
  readonly reason: "binary" | "too_large"
}

/** What the index holds for a path: its blob, and the extractor version that produced its symbols. */
export interface Indexed {
  readonly blobSha: string
  readonly extractorVersion: number
}

/** The tree entries to consider: the whole tree, or what the diff wrote. */
export const candidatesOf = (tree: ReadonlyMap<string, TreeEntry>, diff: TreeDiff | null): Array<TreeEntry> =>
  diff === null ? [...tree.values()] : [...diff.written].flatMap((p) => {
    const entry = tree.get(p)
    return entry === undefined ? [] : [entry]
  })

/** Indexed paths the commit no longer has (or, for an update, that the diff deleted). */
export const deletionsOf = (
  tree: ReadonlyMap<string, TreeEntry>,
  diff: TreeDiff | null,
  existing: ReadonlyMap<string, Indexed>
): Set<string> =>
  new Set(
    diff === null
      ? [...existing.keys()].filter((path) => !tree.has(path))
      : [...diff.deleted, ...[...diff.written].filter((p) => !tree.has(p))].filter((p) => existing.has(p))
  )

/**
 * A file is read again when its blob changed, or when its symbols came from an older extractor; files over
 * `maxFileSize` are skipped.
 */
export const classify = (
  candidates: ReadonlyArray<TreeEntry>,
  existing: ReadonlyMap<string, Indexed>,
  maxFileSize: number,
  extractorVersion: number
) => {
  const skipped: Array<Skipped> = []
  const toRead: Array<TreeEntry> = []
  let unchanged = 0
  for (const entry of candidates) {
    const indexed = existing.get(entry.path)
    if (entry.size > maxFileSize) skipped.push({ path: entry.path, reason: "too_large" })
    else if (indexed?.blobSha === entry.blobSha && indexed.extractorVersion >= extractorVersion) unchanged++
    else toRead.push(entry)
  }
  return { skipped, toRead, unchanged }
}

export const lineCount = (text: string) => {
  if (text.length === 0) return 0
  let lines = 0
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) lines++
  return text.endsWith("\n") ? lines : lines + 1
}

/** The file row for a blob, or `binary` when git would call it binary. */
export const decode = (entry: TreeEntry, content: Buffer, extractorVersion: number): IndexedFile | "binary" => {
  if (content.subarray(0, BINARY_SNIFF_BYTES).includes(0)) return "binary"
  const text = content.toString("utf8")
  return {
    path: entry.path,
    blobSha: entry.blobSha,
    language: languageOf(entry.path),
    sizeBytes: content.length,
    lineCount: lineCount(text),
    content: text,
    extractorVersion
  }
}
