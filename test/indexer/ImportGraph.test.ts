import { describe, expect, it } from "@effect/vitest"
import { fileStems, moduleStem } from "../../src/services/indexer/ImportGraph.js"

describe("ImportGraph", () => {
  it("module stems name the files an import could resolve to", () => {
    expect(moduleStem("./util/format.js")).toBe("format")
    expect(moduleStem("os.path")).toBe("path")
    expect(moduleStem("<sys/types.h>")).toBe("types")
    expect(moduleStem("crate::net::tcp")).toBe("tcp")
    expect(moduleStem("example.com/shop/internal/store")).toBe("store")
    expect(fileStems("src/util/index.ts")).toEqual(["index", "util"])
    expect(fileStems("app/models/__init__.py")).toEqual(["__init__", "models"])
  })
})
