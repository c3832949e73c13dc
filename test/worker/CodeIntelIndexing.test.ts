import { SqlClient } from "@effect/sql"
import { expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { JobHandlersLive } from "../../src/layers/Worker.js"
import { runWorker } from "../../src/worker/Worker.js"
import type { GitServer } from "../utils/GitServer.js"
import { gitServer } from "../utils/GitServer.js"
import { createKey, withKey } from "../utils/keys.js"
import { finished, post, push } from "../utils/repositoryFlow.js"
import { testApp } from "../utils/TestApp.js"

const app = Layer.scopedDiscard(runWorker).pipe(
  Layer.provide(JobHandlersLive),
  Layer.provideMerge(testApp({ GIT_ALLOW_PRIVATE_HOSTS: "true", WORKER_POLL_INTERVAL: "100 millis" }))
)

const symbols = (repositoryId: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql<{
        path: string
        name: string
        kind: string
        line: number
        col: number
        endLine: number
        endCol: number
        container: string | null
        signature: string
      }>`
      SELECT path, name, kind, line, col, end_line, end_col, container, signature
      FROM code_symbols WHERE repository_id = ${repositoryId}
      ORDER BY path, ordinal`
  )

const imports = (repositoryId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ path: string; module: string; resolvedPath: string | null }>`
      SELECT path, module, resolved_path FROM code_imports WHERE repository_id = ${repositoryId}
      ORDER BY path, ordinal, resolved_path`)

const FILES = {
  "go.mod": "module example.com/shop\n\ngo 1.22\n",
  "src/cart.ts": [
    "import { price } from \"./pricing\"",
    "import { Money } from \"./money.js\"",
    "",
    "export class Cart {",
    "  total(items: Array<Money>): number {",
    "    return items.reduce((sum, item) => sum + price(item), 0)",
    "  }",
    "}",
    ""
  ].join("\n"),
  "src/pricing.ts": [
    "import { Cart } from \"./cart\"",
    "import { discount } from \"./discount\"",
    "",
    "export function price(item: unknown): number {",
    "  return discount(1)",
    "}",
    "export const unused = (c: Cart) => c",
    ""
  ].join("\n"),
  "src/money.ts": "export interface Money {\n  readonly cents: number\n}\n",
  "app/main.py": "from app import helpers\n\n\ndef run():\n    return helpers.assist()\n",
  "app/helpers.py":
    "class Helper:\n    def assist(self):\n        return 1\n\n\ndef assist():\n    return Helper().assist()\n",
  "app/__init__.py": "",
  "cmd/server/main.go": [
    "package main",
    "",
    "import \"example.com/shop/internal/store\"",
    "",
    "func main() {",
    "\tstore.Open()",
    "}",
    ""
  ].join("\n"),
  "internal/store/store.go": "package store\n\nfunc Open() {}\n",
  "README.md": "# shop\n"
}

const withGit = <A, E, R>(f: (server: GitServer) => Effect.Effect<A, E, R>) =>
  Effect.flatMap(gitServer(), (server) => f(server).pipe(Effect.provide(app)))

it.scopedLive(
  "indexing extracts symbols and resolves imports; a push parses only what changed and re-resolves what it moved",
  () =>
    withGit((server) =>
      Effect.gen(function*() {
        const repo = yield* Effect.promise(() => server.createRepository("acme/shop"))
        const first = yield* Effect.promise(() => repo.commit(FILES))
        const key = yield* createKey({ rate_limit: 1000 })
        const response = yield* post("/api/v1/repositories", withKey(key.api_key), {
          git_url: repo.url,
          branch: "main"
        })
        expect(response.status).toBe(201)
        const registered = (yield* response.json) as {
          repository_id: string
          job_id: string
          webhook: { secret: string }
        }
        const full = yield* finished(registered.job_id)
        expect(full.status).toBe("completed")
        expect(full.result).toMatchObject({ mode: "full", files_processed: 10, files_deleted: 0 })
        // Eight files in supported languages; go.mod and README.md have nothing to extract.
        expect(full.result!.extraction).toMatchObject({ files: 8, failed: 0 })
        expect(full.result!.symbols_extracted).toBeGreaterThanOrEqual(9)
        expect(full.result!.relationships_found).toBeGreaterThanOrEqual(8)

        const defined = yield* symbols(registered.repository_id)
        const find = (path: string, name: string) => defined.find((s) => s.path === path && s.name === name)
        expect(find("src/cart.ts", "Cart")).toMatchObject({ kind: "class", line: 4 })
        expect(find("src/cart.ts", "total")).toMatchObject({ kind: "method", line: 5, container: "Cart" })
        // Every column as written, so that a field stored from the wrong one of the extractor's columns shows.
        expect(find("src/cart.ts", "total")).toEqual({
          path: "src/cart.ts",
          name: "total",
          kind: "method",
          line: 5,
          col: 3,
          endLine: 7,
          endCol: 4,
          container: "Cart",
          signature: "total(items: Array<Money>): number {"
        })
        expect(find("src/pricing.ts", "price")).toMatchObject({ kind: "function", line: 4 })
        expect(find("src/money.ts", "Money")).toMatchObject({ kind: "interface", line: 1 })
        expect(find("app/helpers.py", "Helper")).toMatchObject({ kind: "class", line: 1 })
        expect(find("app/helpers.py", "assist")).toBeDefined()
        expect(find("internal/store/store.go", "Open")).toMatchObject({ kind: "function", line: 3 })

        const graph = yield* imports(registered.repository_id)
        const resolved = (path: string, module: string) =>
          graph.filter((i) => i.path === path && i.module === module).map((i) => i.resolvedPath)
        expect(resolved("src/cart.ts", "./pricing")).toEqual(["src/pricing.ts"])
        expect(resolved("src/cart.ts", "./money.js")).toEqual(["src/money.ts"])
        expect(resolved("src/pricing.ts", "./cart")).toEqual(["src/cart.ts"])
        // Not there yet: resolved by the push that adds it.
        expect(resolved("src/pricing.ts", "./discount")).toEqual([null])
        expect(resolved("cmd/server/main.go", "example.com/shop/internal/store")).toEqual(["internal/store/store.go"])

        // Add the missing module, change one file, delete another: only the two written files are parsed.
        const second = yield* Effect.promise(() =>
          repo.commit({
            "src/discount.ts": "export const discount = (n: number) => n * 0.9\n",
            "src/money.ts": "export interface Money {\n  readonly cents: number\n}\nexport type Currency = \"EUR\"\n",
            "internal/store/store.go": null
          })
        )
        const update = yield* finished(yield* push(registered, first, second))
        expect(update.status).toBe("completed")
        expect(update.result).toMatchObject({ mode: "incremental", files_processed: 2, files_deleted: 1 })
        expect(update.result!.extraction).toMatchObject({ files: 2 })

        const after = yield* symbols(registered.repository_id)
        expect(after.find((s) => s.name === "Currency")).toMatchObject({ path: "src/money.ts", kind: "type", line: 4 })
        expect(after.find((s) => s.name === "discount")).toMatchObject({ path: "src/discount.ts" })
        expect(after.some((s) => s.path === "internal/store/store.go")).toBe(false)
        const graphAfter = yield* imports(registered.repository_id)
        const resolvedAfter = (path: string, module: string) =>
          graphAfter.filter((i) => i.path === path && i.module === module).map((i) => i.resolvedPath)
        expect(resolvedAfter("src/pricing.ts", "./discount")).toEqual(["src/discount.ts"])
        expect(resolvedAfter("cmd/server/main.go", "example.com/shop/internal/store")).toEqual([null])

        // A file from an older extractor is extracted again on the next index, though its blob is unchanged.
        const sql = yield* SqlClient.SqlClient
        yield* sql`UPDATE indexed_files SET extractor_version = 0 WHERE repository_id = ${registered.repository_id}
          AND path = 'app/helpers.py'`
        yield* sql`DELETE FROM code_symbols WHERE repository_id = ${registered.repository_id} AND path = 'app/helpers.py'`
        const third = yield* Effect.promise(() => repo.commit({ "README.md": "# shop\n\nv2\n" }))
        const upgrade = yield* finished(yield* push(registered, second, third))
        expect(upgrade.result).toMatchObject({ mode: "full", files_processed: 2 })
        expect((yield* symbols(registered.repository_id)).some((s) => s.path === "app/helpers.py")).toBe(true)
      })
    ),
  { timeout: 90_000 }
)

it.scopedLive(
  "a file that does not parse keeps its text search and is reported; the job completes",
  () =>
    withGit((server) =>
      Effect.gen(function*() {
        const repo = yield* Effect.promise(() => server.createRepository("acme/broken"))
        yield* Effect.promise(() =>
          repo.commit({
            "ok.py": "def fine():\n    return 1\n",
            "broken.py": "def broken(:\n    return ((\n\nclass Still:\n    pass\n"
          })
        )
        const key = yield* createKey({ rate_limit: 1000 })
        const response = yield* post("/api/v1/repositories", withKey(key.api_key), {
          git_url: repo.url,
          branch: "main"
        })
        const registered = (yield* response.json) as { repository_id: string; job_id: string }
        const done = yield* finished(registered.job_id)
        expect(done.status).toBe("completed")
        expect(done.result!.extraction).toMatchObject({ files: 2, with_parse_errors: 1, failed: 0 })
        const defined = yield* symbols(registered.repository_id)
        expect(defined.find((s) => s.name === "fine")).toMatchObject({ path: "ok.py", kind: "function" })
        const sql = yield* SqlClient.SqlClient
        const [text] = yield* sql<{ n: number }>`
          SELECT count(*)::int AS n FROM indexed_chunks WHERE repository_id = ${registered.repository_id}
          AND path = 'broken.py'`
        expect(text!.n).toBe(1)
      })
    ),
  { timeout: 60_000 }
)
