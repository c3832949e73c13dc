import { languageOf } from "../../domain/Language.js"
import type { IndexedFile } from "../stores/IndexedFileStore.js"
import { IndexedStatus } from "../stores/IndexedFileStore.js"
import type { TreeDiff, TreeEntry } from "./GitObjects.js"

// Git's own test for binary content: a NUL byte in the first 8000 bytes.
const BINARY_SNIFF_BYTES = 8000

export interface Skipped {
  readonly path: string
  readonly reason: "binary" | "too_large"
}

/**
 * What the index holds for the paths a plan looks at (IndexedFileStore.compare): `status[i]` for `paths[i]`,
 * and, for a full index, the indexed paths the commit no longer has.
 */
export interface Comparison {
  readonly paths: ReadonlyArray<string>
  readonly status: Uint8Array
  readonly gone: ReadonlyArray<string>
}

/** The tree entries to consider: the whole tree, or what the diff wrote. */
export const candidatesOf = (tree: ReadonlyMap<string, TreeEntry>, diff: TreeDiff | null): Array<TreeEntry> =>
  diff === null ? [...tree.values()] : [...diff.written].flatMap((p) => {
    const entry = tree.get(p)
    return entry === undefined ? [] : [entry]
  })

/**
 * The paths to compare with the index and the blobs they have: the candidates with their blobs; for an update
 * also the paths the diff deleted (or wrote as something other than a file), under no blob, so that the
 * comparison says whether they are indexed.
 */
export const comparedOf = (
  candidates: ReadonlyArray<TreeEntry>,
  tree: ReadonlyMap<string, TreeEntry>,
  diff: TreeDiff | null
) => {
  const paths = candidates.map((e) => e.path)
  const shas = candidates.map((e) => e.blobSha)
  if (diff !== null) {
    for (const path of new Set([...diff.deleted, ...[...diff.written].filter((p) => !tree.has(p))])) {
      paths.push(path)
      shas.push("")
    }
  }
  return { paths, shas }
}

/** Answers for the compared paths: whether each is indexed, and whether with the blob compared. */
export const lookupOf = (comparison: Comparison) => {
  const at = new Map(comparison.paths.map((path, i) => [path, i]))
  const status = (path: string) => {
    const i = at.get(path)
    if (i === undefined) throw new Error(`${path} was not compared with the index`)
    return comparison.status[i]!
  }
  return {
    status,
    isIndexed: (path: string) => status(path) !== IndexedStatus.absent,
    sameBlob: (path: string) =>
      status(path) === IndexedStatus.unchanged || status(path) === IndexedStatus.olderExtractor
  }
}
export type Lookup = ReturnType<typeof lookupOf>

/** Indexed paths the commit no longer has (or, for an update, that the diff deleted). */
export const deletionsOf = (
  tree: ReadonlyMap<string, TreeEntry>,
  diff: TreeDiff | null,
  comparison: Comparison,
  lookup: Lookup
): Set<string> =>
  new Set(
    diff === null
      ? comparison.gone
      : [...diff.deleted, ...[...diff.written].filter((p) => !tree.has(p))].filter(lookup.isIndexed)
  )

/**
 * A file is read again when its blob changed, or when its symbols came from an older extractor; files over
 * `maxFileSize` are skipped.
 */
export const classify = (candidates: ReadonlyArray<TreeEntry>, lookup: Lookup, maxFileSize: number) => {
  const skipped: Array<Skipped> = []
  const toRead: Array<TreeEntry> = []
  let unchanged = 0
  for (const entry of candidates) {
    if (entry.size > maxFileSize) skipped.push({ path: entry.path, reason: "too_large" })
    else if (lookup.status(entry.path) === IndexedStatus.unchanged) unchanged++
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
