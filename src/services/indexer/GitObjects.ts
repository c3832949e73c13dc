/** A regular file in a commit's tree. `size` is -1 until known (a blobless fetch lists no sizes). */
export interface TreeEntry {
  readonly path: string
  readonly blobSha: string
  readonly size: number
}

/**
 * `git ls-tree -r -z [-l]`: regular files only (no symlinks, no submodules). Without `-l` (a blobless
 * base, where sizes would make git fetch every blob) the size is -1 until the blobs are fetched.
 */
export const parseTree = (out: Buffer): Map<string, TreeEntry> => {
  const entries = new Map<string, TreeEntry>()
  // Record by record from the bytes: no string of the whole listing, which every path sliced from it would keep.
  for (let at = 0; at < out.length;) {
    const end = out.indexOf(0, at)
    const recordEnd = end === -1 ? out.length : end
    const tab = out.indexOf(9, at)
    if (tab !== -1 && tab < recordEnd) {
      const [mode, type, sha, size] = out.toString("latin1", at, tab).split(/\s+/)
      if (type === "blob" && (mode === "100644" || mode === "100755")) {
        const path = out.toString("utf8", tab + 1, recordEnd)
        entries.set(path, { path, blobSha: sha!, size: size === undefined ? -1 : Number(size) })
      }
    }
    at = recordEnd + 1
  }
  return entries
}

export interface TreeDiff {
  readonly written: Set<string>
  readonly deleted: Set<string>
}

/** `git diff --name-status -z`: paths to (re)write and paths to delete. */
export const parseDiff = (out: Buffer): TreeDiff => {
  const fields = out.toString("utf8").split("\0")
  const written = new Set<string>()
  const deleted = new Set<string>()
  for (let i = 0; i < fields.length - 1;) {
    const status = fields[i++]!
    if (status.startsWith("R") || status.startsWith("C")) {
      const from = fields[i++]!
      const to = fields[i++]!
      if (status.startsWith("R")) deleted.add(from)
      written.add(to)
    } else {
      const path = fields[i++]!
      if (status === "D") deleted.add(path)
      else written.add(path)
    }
  }
  return { written, deleted }
}

/** Splits `git cat-file --batch` output into the contents of the requested blobs, in order. */
export const parseBatch = (out: Buffer): Array<Buffer> => {
  const blobs: Array<Buffer> = []
  let at = 0
  while (at < out.length) {
    const newline = out.indexOf(10, at)
    const size = Number(out.subarray(at, newline).toString("latin1").split(" ")[2])
    blobs.push(out.subarray(newline + 1, newline + 1 + size))
    at = newline + 1 + size + 1
  }
  return blobs
}
