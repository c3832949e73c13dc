import { describe, expect, it } from "@effect/vitest"
import type { ImportInput } from "../../src/symbols/ImportResolver.js"
import { importContext, parseGoModule, parseTsconfig, resolveImport } from "../../src/symbols/ImportResolver.js"

const repo = (...files: ReadonlyArray<string>) => new Set(files)
const resolve = (
  language: string,
  fromPath: string,
  module: string,
  files: ReadonlySet<string>,
  extra: Partial<ImportInput> = {}
) => resolveImport({ language, fromPath, module, files, ...extra })

describe("ImportResolver", () => {
  describe("TypeScript and JavaScript", () => {
    const files = repo(
      "src/a.ts",
      "src/util.ts",
      "src/lib/index.ts",
      "src/view.tsx",
      "src/legacy.js",
      "src/esm.mts",
      "packages/core/src/main.ts",
      "types/global.d.ts"
    )

    it("resolves relative paths with and without extensions, .js written for .ts, and index files", () => {
      expect(resolve("TypeScript", "src/a.ts", "./util", files)).toEqual(["src/util.ts"])
      expect(resolve("TypeScript", "src/a.ts", "./util.js", files)).toEqual(["src/util.ts"])
      expect(resolve("TypeScript", "src/a.ts", "./view.js", files)).toEqual(["src/view.tsx"])
      expect(resolve("TypeScript", "src/a.ts", "./esm.mjs", files)).toEqual(["src/esm.mts"])
      expect(resolve("TypeScript", "src/a.ts", "./lib", files)).toEqual(["src/lib/index.ts"])
      expect(resolve("JavaScript", "src/lib/index.ts", "../legacy", files)).toEqual(["src/legacy.js"])
      expect(resolve("TSX", "src/view.tsx", "./legacy.js", files)).toEqual(["src/legacy.js"])
    })

    it("leaves packages and paths outside the repository unresolved", () => {
      expect(resolve("TypeScript", "src/a.ts", "effect", files)).toEqual([])
      expect(resolve("TypeScript", "src/a.ts", "./missing", files)).toEqual([])
      expect(resolve("TypeScript", "src/a.ts", "../../../etc/passwd", files)).toEqual([])
    })

    it("follows tsconfig paths (with and without a wildcard) and baseUrl", () => {
      const tsconfig = parseTsconfig(`{
        // comments and trailing commas are allowed in tsconfig.json
        "compilerOptions": {
          "baseUrl": ".",
          "paths": { "@core/*": ["packages/core/src/*"], "@util": ["src/util.ts"], },
        },
      }`)
      expect(tsconfig).toEqual({
        baseUrl: "",
        pathsBase: "",
        paths: { "@core/*": ["packages/core/src/*"], "@util": ["src/util.ts"] }
      })
      expect(resolve("TypeScript", "src/a.ts", "@core/main", files, { tsconfig })).toEqual([
        "packages/core/src/main.ts"
      ])
      expect(resolve("TypeScript", "src/a.ts", "@core/main.js", files, { tsconfig })).toEqual([
        "packages/core/src/main.ts"
      ])
      expect(resolve("TypeScript", "src/a.ts", "@util", files, { tsconfig })).toEqual(["src/util.ts"])
      expect(resolve("TypeScript", "packages/core/src/main.ts", "src/lib", files, { tsconfig })).toEqual([
        "src/lib/index.ts"
      ])
      expect(resolve("TypeScript", "src/a.ts", "@core/none", files, { tsconfig })).toEqual([])
    })

    it("takes paths relative to the tsconfig's directory when there is no baseUrl", () => {
      const tsconfig = parseTsconfig(`{"compilerOptions":{"paths":{"~/*":["./src/*"]}}}`, "tsconfig.json")
      expect(resolve("TypeScript", "packages/core/src/main.ts", "~/util", files, { tsconfig })).toEqual(["src/util.ts"])
      expect(parseTsconfig("not json {")).toBeNull()
    })
  })

  describe("Python", () => {
    const files = repo(
      "app/__init__.py",
      "app/models.py",
      "app/api/__init__.py",
      "app/api/views.py",
      "app/api/helpers.py",
      "src/pkg/__init__.py",
      "src/pkg/core.py"
    )

    it("resolves packages and modules from the repository root and from src/", () => {
      expect(resolve("Python", "main.py", "app.models", files)).toEqual(["app/models.py"])
      expect(resolve("Python", "main.py", "app.api", files)).toEqual(["app/api/__init__.py"])
      expect(resolve("Python", "main.py", "pkg.core", files)).toEqual(["src/pkg/core.py"])
      expect(resolve("Python", "main.py", "os.path", files)).toEqual([])
    })

    it("resolves relative imports from the importing file's package", () => {
      expect(resolve("Python", "app/api/views.py", ".helpers", files)).toEqual(["app/api/helpers.py"])
      expect(resolve("Python", "app/api/views.py", ".", files)).toEqual(["app/api/__init__.py"])
      expect(resolve("Python", "app/api/views.py", "..models", files)).toEqual(["app/models.py"])
      expect(resolve("Python", "app/api/views.py", "..", files)).toEqual(["app/__init__.py"])
      expect(resolve("Python", "app/api/views.py", "....toofar", files)).toEqual([])
    })
  })

  describe("Go", () => {
    const files = repo("go.mod", "main.go", "pkg/util/util.go", "pkg/util/math.go", "pkg/util/util_test.go")

    it("maps an import under go.mod's module path to the package directory's non-test files", () => {
      const goModule = parseGoModule("// comment\nmodule example.com/x\n\ngo 1.22\n")
      expect(goModule).toBe("example.com/x")
      expect(resolve("Go", "main.go", "example.com/x/pkg/util", files, { goModule })).toEqual([
        "pkg/util/math.go",
        "pkg/util/util.go"
      ])
      expect(resolve("Go", "main.go", "fmt", files, { goModule })).toEqual([])
      expect(resolve("Go", "main.go", "example.com/xy/pkg/util", files, { goModule })).toEqual([])
      expect(resolve("Go", "main.go", "example.com/x/pkg/util", files)).toEqual([])
    })
  })

  describe("C and C++", () => {
    const files = repo("src/main.c", "src/util.h", "include/lib/api.h", "third/a/config.h", "third/b/config.h")

    it("looks next to the including file first, then for the one file in the repository that ends so", () => {
      expect(resolve("C", "src/main.c", "util.h", files)).toEqual(["src/util.h"])
      expect(resolve("C", "src/main.c", "lib/api.h", files)).toEqual(["include/lib/api.h"])
      expect(resolve("C++", "src/main.c", "api.h", files)).toEqual(["include/lib/api.h"])
      expect(resolve("C", "src/main.c", "config.h", files)).toEqual([])
      expect(resolve("C", "src/main.c", "stdio.h", files)).toEqual([])
    })
  })

  describe("Rust", () => {
    const files = repo("src/lib.rs", "src/util.rs", "src/net/mod.rs", "src/net/http.rs", "src/net/tcp.rs")

    it("resolves `mod x;` to x.rs or x/mod.rs beside the declaring module", () => {
      expect(resolve("Rust", "src/lib.rs", "util", files)).toEqual(["src/util.rs"])
      expect(resolve("Rust", "src/lib.rs", "net", files)).toEqual(["src/net/mod.rs"])
      expect(resolve("Rust", "src/net/mod.rs", "http", files)).toEqual(["src/net/http.rs"])
    })

    it("resolves crate::, self:: and super:: paths to the longest module that exists", () => {
      expect(resolve("Rust", "src/net/http.rs", "crate::util::helper", files)).toEqual(["src/util.rs"])
      expect(resolve("Rust", "src/net/http.rs", "crate::net::tcp::{connect, Stream}", files)).toEqual([
        "src/net/tcp.rs"
      ])
      expect(resolve("Rust", "src/net/mod.rs", "self::tcp::connect", files)).toEqual(["src/net/tcp.rs"])
      expect(resolve("Rust", "src/net/http.rs", "super::tcp::*", files)).toEqual(["src/net/tcp.rs"])
      expect(resolve("Rust", "src/lib.rs", "std::collections::HashMap", files)).toEqual([])
    })
  })

  describe("Ruby, PHP, Java and C#", () => {
    it("Ruby: require_relative beside the file, require from lib/", () => {
      const files = repo("lib/shapes.rb", "lib/shapes/circle.rb", "app/helper.rb")
      expect(resolve("Ruby", "app/main.rb", "helper", files)).toEqual(["app/helper.rb"])
      expect(resolve("Ruby", "app/main.rb", "shapes/circle", files)).toEqual(["lib/shapes/circle.rb"])
      expect(resolve("Ruby", "app/main.rb", "json", files)).toEqual([])
    })

    it("PHP: a namespaced class by the path its namespace ends with, include by path", () => {
      const files = repo("src/Util/Helper.php", "bootstrap.php", "src/Shapes/Circle.php")
      expect(resolve("PHP", "src/Shapes/Circle.php", "App\\Util\\Helper", files)).toEqual(["src/Util/Helper.php"])
      expect(resolve("PHP", "src/Shapes/Circle.php", "bootstrap.php", files)).toEqual(["bootstrap.php"])
      expect(resolve("PHP", "src/Shapes/Circle.php", "Vendor\\Missing", files)).toEqual([])
    })

    it("Java: a.b.C to the one **/a/b/C.java, also for nested and static imports", () => {
      const files = repo("src/main/java/com/example/util/Helper.java", "src/main/java/com/example/App.java")
      expect(resolve("Java", "src/main/java/com/example/App.java", "com.example.util.Helper", files)).toEqual([
        "src/main/java/com/example/util/Helper.java"
      ])
      expect(resolve("Java", "src/main/java/com/example/App.java", "com.example.util.Helper.assist", files)).toEqual([
        "src/main/java/com/example/util/Helper.java"
      ])
      expect(resolve("Java", "src/main/java/com/example/App.java", "java.util.List", files)).toEqual([])
    })

    it("C#: a namespace to the .cs files of the one directory its path ends with", () => {
      const files = repo("src/App/Shapes/Circle.cs", "src/App/Shapes/Square.cs", "src/App/Program.cs")
      expect(resolve("C#", "src/App/Program.cs", "App.Shapes", files)).toEqual([
        "src/App/Shapes/Circle.cs",
        "src/App/Shapes/Square.cs"
      ])
      expect(resolve("C#", "src/App/Program.cs", "System.Text", files)).toEqual([])
    })
  })

  it("builds its context from the file list and the root tsconfig.json and go.mod", () => {
    const context = importContext(["a.ts", "go.mod"], {
      tsconfig: `{"compilerOptions":{"baseUrl":"src"}}`,
      goMod: "module github.com/acme/app\n"
    })
    expect(context.files.has("a.ts")).toBe(true)
    expect(context.tsconfig).toEqual({ baseUrl: "src", pathsBase: "src", paths: {} })
    expect(context.goModule).toBe("github.com/acme/app")
    expect(importContext([], {})).toMatchObject({ tsconfig: null, goModule: null })
    expect(resolve("Markdown", "a.md", "x", context.files)).toEqual([])
  })
})
