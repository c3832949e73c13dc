import { describe, expect, it } from "vitest"
import { parseTree } from "../../src/services/indexer/GitObjects.js"

const SHA = "a".repeat(40)
const record = (header: string, path: string) =>
  Buffer.concat([Buffer.from(`${header}\t`), Buffer.from(path), Buffer.from([0])])

describe("parseTree", () => {
  it("reads regular files of `git ls-tree -r -z [-l]` from the bytes: any path, no symlink or submodule", () => {
    const out = Buffer.concat([
      record(`100644 blob ${SHA}     120`, "src/a b\tc.ts"),
      record(`100755 blob ${SHA}       7`, "bin/ünïcødé 文件.sh"),
      record(`120000 blob ${SHA}       9`, "link"),
      record(`160000 commit ${SHA}       -`, "vendor/sub")
    ])
    expect([...parseTree(out).values()]).toEqual([
      { path: "src/a b\tc.ts", blobSha: SHA, size: 120 },
      { path: "bin/ünïcødé 文件.sh", blobSha: SHA, size: 7 }
    ])
    // Without -l (a blobless base) sizes are unknown.
    expect([...parseTree(record(`100644 blob ${SHA}`, "x")).values()]).toEqual([{ path: "x", blobSha: SHA, size: -1 }])
    expect(parseTree(Buffer.alloc(0)).size).toBe(0)
  })
})
