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

/**
 * The answer of `git cat-file --batch` to `count` object ids, taken piece by piece as it arrives: each
 * object's bytes are copied once into a buffer of the size its header gives.
 */
export class BatchAnswer {
  readonly blobs: Array<Buffer> = []
  /** The first object git did not have (its header reads `<id> missing`). */
  missing: string | undefined
  /** An incomplete header line. */
  private head = Buffer.alloc(0)
  private body: Buffer | undefined
  private filled = 0
  /** The newline after an object's content. */
  private newline = false

  constructor(private readonly count: number) {}

  /** Takes the next bytes of git's output; true once the answer is whole. */
  push(piece: Buffer): boolean {
    let at = 0
    while (at < piece.length && !this.whole()) {
      if (this.body !== undefined) {
        const n = Math.min(this.body.length - this.filled, piece.length - at)
        piece.copy(this.body, this.filled, at, at + n)
        this.filled += n
        at += n
        this.finishBody()
      } else if (this.newline) {
        this.newline = false
        at++
      } else {
        const end = piece.indexOf(10, at)
        if (end === -1) {
          this.head = Buffer.concat([this.head, piece.subarray(at)])
          break
        }
        const line = Buffer.concat([this.head, piece.subarray(at, end)]).toString("latin1")
        this.head = Buffer.alloc(0)
        at = end + 1
        const [id, type, size] = line.split(" ")
        if (type === "missing" || size === undefined) {
          this.missing ??= id
          this.blobs.push(Buffer.alloc(0))
          continue
        }
        this.body = Buffer.allocUnsafe(Number(size))
        this.filled = 0
        this.finishBody()
      }
    }
    return this.whole()
  }

  private finishBody() {
    if (this.body === undefined || this.filled < this.body.length) return
    this.blobs.push(this.body)
    this.body = undefined
    this.newline = true
  }

  private whole() {
    return this.blobs.length === this.count && this.body === undefined && !this.newline
  }
}
