import { describe, expect, it } from "vitest"
import { BatchAnswer, parseTree } from "../../src/services/indexer/GitObjects.js"

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

describe("BatchAnswer", () => {
  const blobs = [
    Buffer.from("first\nfile\n"),
    Buffer.alloc(0),
    Buffer.from("x".repeat(70_000)),
    Buffer.from([0, 10, 255])
  ]
  const output = Buffer.concat(blobs.flatMap((blob, i) => [
    Buffer.from(`${String(i).repeat(40)} blob ${blob.length}\n`),
    blob,
    Buffer.from("\n")
  ]))

  it("takes `git cat-file --batch` output in pieces of any size, and is whole only after the last newline", () => {
    for (const size of [1, 2, 7, 41, 4096, output.length]) {
      const answer = new BatchAnswer(blobs.length)
      const whole: Array<boolean> = []
      for (let at = 0; at < output.length; at += size) whole.push(answer.push(output.subarray(at, at + size)))
      expect(whole.at(-1)).toBe(true)
      expect(whole.slice(0, -1).every((w) => !w)).toBe(true)
      expect(answer.blobs).toEqual(blobs)
      expect(answer.missing).toBeUndefined()
    }
  })

  it("notes an object git does not have and goes on with the rest", () => {
    const answer = new BatchAnswer(2)
    expect(answer.push(Buffer.from(`${SHA} missing\n`))).toBe(false)
    expect(answer.push(Buffer.from(`${"b".repeat(40)} blob 2\nhi\n`))).toBe(true)
    expect(answer.missing).toBe(SHA)
    expect(answer.blobs[1]).toEqual(Buffer.from("hi"))
  })
})
