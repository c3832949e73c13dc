import { describe, expect, it } from "@effect/vitest"
import { fileStems, moduleStem } from "../../src/services/indexer/ImportGraph.js"
import { importResolver } from "../../src/services/indexer/ImportResolver.js"

const FILES = new Set([
  "src/index.ts",
  "src/util/format.ts",
  "src/util/index.ts",
  "src/view/App.tsx",
  "src/legacy.js",
  "src/types.d.ts",
  "packages/core/src/main.ts",
  "app/__init__.py",
  "app/models/__init__.py",
  "app/models/user.py",
  "app/views.py",
  "src/pkg/tool.py",
  "go.mod",
  "internal/store/store.go",
  "internal/store/cache.go",
  "internal/store/store_test.go",
  "include/lib/list.h",
  "src/list.c",
  "src/local.h",
  "crate/src/lib.rs",
  "crate/src/net/mod.rs",
  "crate/src/net/tcp.rs",
  "lib/helpers/text.rb",
  "app/models/account.rb",
  "src/main/java/com/acme/Order.java",
  "src/main/java/com/acme/Line.java",
  "app/Models/User.php"
])

const resolve = importResolver({
  files: FILES,
  tsconfig: `{
    // comments and trailing commas, as tsconfig allows
    "compilerOptions": { "baseUrl": ".", "paths": { "@core/*": ["packages/core/src/*"], }, },
  }`,
  goMod: "module example.com/shop\n\ngo 1.22\n"
})
const r = (language: string, fromPath: string, module: string) => resolve({ language, fromPath, module })

describe("importResolver", () => {
  it("TypeScript and JavaScript: relative paths, substituted extensions, index files, tsconfig paths, baseUrl", () => {
    expect(r("TypeScript", "src/index.ts", "./util/format")).toEqual(["src/util/format.ts"])
    expect(r("TypeScript", "src/index.ts", "./util/format.js")).toEqual(["src/util/format.ts"])
    expect(r("TypeScript", "src/index.ts", "./util")).toEqual(["src/util/index.ts"])
    expect(r("TSX", "src/view/App.tsx", "../legacy")).toEqual(["src/legacy.js"])
    expect(r("TypeScript", "src/index.ts", "./types")).toEqual(["src/types.d.ts"])
    expect(r("TypeScript", "src/index.ts", "@core/main")).toEqual(["packages/core/src/main.ts"])
    expect(r("TypeScript", "packages/core/src/main.ts", "src/util/format")).toEqual(["src/util/format.ts"])
    expect(r("JavaScript", "src/legacy.js", "effect")).toEqual([])
    expect(r("TypeScript", "src/index.ts", "../../outside")).toEqual([])
  })
  it("Python: packages, relative imports, a src root", () => {
    expect(r("Python", "app/views.py", "app.models.user")).toEqual(["app/models/user.py"])
    expect(r("Python", "app/views.py", "app.models")).toEqual(["app/models/__init__.py"])
    expect(r("Python", "app/models/user.py", ".")).toEqual(["app/models/__init__.py"])
    expect(r("Python", "app/models/user.py", "..views")).toEqual(["app/views.py"])
    expect(r("Python", "app/views.py", "pkg.tool")).toEqual(["src/pkg/tool.py"])
    expect(r("Python", "app/views.py", "os.path")).toEqual([])
  })
  it("Go: the module path from go.mod names a package directory (its non-test files)", () => {
    expect(r("Go", "cmd/main.go", "example.com/shop/internal/store")).toEqual([
      "internal/store/cache.go",
      "internal/store/store.go"
    ])
    expect(r("Go", "cmd/main.go", "fmt")).toEqual([])
    expect(r("Go", "cmd/main.go", "example.com/shopping/x")).toEqual([])
  })
  it("C and C++: relative to the file, else one file with that path suffix", () => {
    expect(r("C", "src/list.c", "local.h")).toEqual(["src/local.h"])
    expect(r("C", "src/list.c", "lib/list.h")).toEqual(["include/lib/list.h"])
    expect(r("C++", "src/list.c", "<stdio.h>")).toEqual([])
  })
  it("Rust: mod declarations and crate paths", () => {
    expect(r("Rust", "crate/src/lib.rs", "net")).toEqual(["crate/src/net/mod.rs"])
    expect(r("Rust", "crate/src/net/mod.rs", "tcp")).toEqual(["crate/src/net/tcp.rs"])
    expect(r("Rust", "crate/src/lib.rs", "crate::net::tcp::Stream")).toEqual(["crate/src/net/tcp.rs"])
    expect(r("Rust", "crate/src/lib.rs", "std::io")).toEqual([])
  })
  it("Ruby, Java and PHP", () => {
    expect(r("Ruby", "app/models/user.rb", "account")).toEqual(["app/models/account.rb"])
    expect(r("Ruby", "app/models/user.rb", "helpers/text")).toEqual(["lib/helpers/text.rb"])
    expect(r("Java", "src/main/java/com/acme/Line.java", "com.acme.Order")).toEqual([
      "src/main/java/com/acme/Order.java"
    ])
    expect(r("Java", "x/Y.java", "com.acme.*")).toEqual([
      "src/main/java/com/acme/Line.java",
      "src/main/java/com/acme/Order.java"
    ])
    expect(r("Java", "x/Y.java", "java.util.List")).toEqual([])
    expect(r("Java", "x/Y.java", "com.other.Order")).toEqual([])
    expect(r("PHP", "index.php", "App\\Models\\User")).toEqual(["app/Models/User.php"])
    expect(r("C#", "a.cs", "System.Text")).toEqual([])
  })
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
