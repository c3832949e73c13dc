import { HttpApiClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import type { RepositoryId } from "../../src/domain/Repository.js"
import { Api } from "../../src/http/Api.js"
import { JobHandlersLive } from "../../src/layers/Worker.js"
import { runWorker } from "../../src/worker/Worker.js"
import type { GitServer } from "../utils/GitServer.js"
import { gitServer } from "../utils/GitServer.js"
import { createKey, get, withKey } from "../utils/keys.js"
import { finished, push, register } from "../utils/repositoryFlow.js"
import { testApp } from "../utils/TestApp.js"

// Issue 19's "done when": a repository in several languages, registered through the API and updated by a
// push webhook, answers every navigation route (and the original's aliases) through the typed client.

const app = Layer.scopedDiscard(runWorker).pipe(
  Layer.provide(JobHandlersLive),
  Layer.provideMerge(testApp({ GIT_ALLOW_PRIVATE_HOSTS: "true", WORKER_POLL_INTERVAL: "100 millis" }))
)

const clientFor = (key: string) =>
  HttpApiClient.make(Api, {
    transformClient: HttpClient.mapRequest(HttpClientRequest.setHeaders(withKey(key)))
  })

const completed = (id: string) => Effect.tap(finished(id), (job) => expect(job.status).toBe("completed"))

const FILES = {
  "src/cart.ts": [
    "import { price } from \"./pricing\"",
    "import type { Money } from \"./money.js\"",
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
    "",
    "export function price(item: unknown): number {",
    "  return 1",
    "}",
    "export const emptyCart = () => new Cart()",
    ""
  ].join("\n"),
  "src/money.ts": "export interface Money {\n  readonly cents: number\n}\n",
  "app/helpers.py":
    "class Helper:\n    def assist(self):\n        return price_of(1)\n\n\ndef price_of(n):\n    return n\n",
  "go.mod": "module example.com/shop\n\ngo 1.22\n",
  "internal/store/store.go": "package store\n\nfunc Open() int {\n\treturn 1\n}\n"
}

const withGit = <A, E, R>(f: (server: GitServer) => Effect.Effect<A, E, R>) =>
  Effect.flatMap(gitServer(), (server) => f(server).pipe(Effect.provide(app)))

it.scopedLive(
  "a repository indexed through the API and updated by a push answers every navigation route",
  () =>
    withGit((server) =>
      Effect.gen(function*() {
        const repo = yield* Effect.promise(() => server.createRepository("acme/shop"))
        const first = yield* Effect.promise(() => repo.commit(FILES))
        const key = (yield* createKey({ rate_limit: 10_000 })).api_key
        const registered = yield* register(key, repo.url)
        yield* completed(registered.job_id)

        // The push makes pricing.ts call a new module, which closes no cycle but adds a level.
        const second = yield* Effect.promise(() =>
          repo.commit({
            "src/discount.ts": "export function discount(n: number): number {\n  return n * 0.9\n}\n",
            "src/pricing.ts": FILES["src/pricing.ts"].replace(
              "import { Cart } from \"./cart\"\n",
              "import { Cart } from \"./cart\"\nimport { discount } from \"./discount\"\n"
            ).replace("  return 1\n", "  return discount(1)\n")
          })
        )
        yield* completed(yield* push(registered, first, second))

        const id = registered.repository_id as RepositoryId
        const client = yield* clientFor(key)

        const found = yield* client.navigation.searchSymbols({ urlParams: { q: "price" } })
        expect(found.resolution).toBe("name-match")
        // Exact names first, then names containing the query.
        expect(found.symbols.map((s) => [s.name, s.path, s.kind, s.line])).toEqual([
          ["price", "src/pricing.ts", "function", 4],
          ["price_of", "app/helpers.py", "function", 6]
        ])

        // HttpApiClient does not fill in a wildcard path segment: the two `*` routes are called by URL.
        const getJson = (path: string) =>
          Effect.flatMap(get(path, withKey(key)), (r) => {
            expect(r.status).toBe(200)
            // eslint-disable-next-line @typescript-eslint/no-explicit-any
            return r.json as Effect.Effect<any>
          })
        const file = yield* getJson(`/api/v1/repositories/${id}/files/src/cart.ts?lines=4-5`)
        expect(file).toMatchObject({ language: "TypeScript", line_count: 8, start_line: 4, end_line: 5 })
        expect(file.content).toBe("export class Cart {\n  total(items: Array<Money>): number {\n")

        const outline = yield* client.navigation.getOutline({ path: { id }, urlParams: { path: "src/cart.ts" } })
        expect(outline.symbols.map((s) => [s.name, s.kind, s.children.map((c) => [c.name, c.kind])])).toEqual([
          ["Cart", "class", [["total", "method"]]]
        ])

        const definitions = yield* client.navigation.findDefinitions({
          path: { id },
          urlParams: { name: "Cart", path: "src/pricing.ts" }
        })
        expect(definitions.definitions.map((d) => [d.path, d.line, d.relation])).toEqual([
          ["src/cart.ts", 4, "imported"]
        ])

        const references = yield* client.navigation.findReferences({
          path: { id },
          urlParams: { name: "discount", kind: "call" }
        })
        expect(references.references.map((r) => [r.path, r.line, r.enclosing])).toEqual([
          ["src/pricing.ts", 5, "price"]
        ])

        const callers = yield* client.navigation.findCallers({ path: { id }, urlParams: { name: "price" } })
        expect(callers.callers.map((c) => [c.path, c.caller, c.definition?.kind, c.call_count])).toEqual([
          ["src/cart.ts", "total", "method", 1]
        ])

        const dependencies = yield* client.navigation.getDependencies({
          path: { id },
          urlParams: { path: "src/cart.ts", direction: "dependencies", depth: 3 }
        })
        expect(dependencies.levels).toEqual([
          { depth: 1, paths: ["src/money.ts", "src/pricing.ts"] },
          { depth: 2, paths: ["src/discount.ts"] }
        ])
        expect(dependencies.cycles.map((c) => [...new Set(c)].sort())).toEqual([["src/cart.ts", "src/pricing.ts"]])

        const impact = yield* client.navigation.analyzeImpact({ path: { id }, payload: { paths: ["src/discount.ts"] } })
        expect(impact.files.map((f) => [f.path, f.depth])).toEqual([
          ["src/discount.ts", 0],
          ["src/pricing.ts", 1],
          ["src/cart.ts", 2]
        ])

        const overview = yield* client.navigation.getOverview({ path: { id }, urlParams: {} })
        expect(overview.file_count).toBe(7)
        expect(overview.languages.map((l) => l.language).sort()).toEqual(
          expect.arrayContaining(["Go", "Python", "TypeScript"])
        )
        expect(overview.symbol_count).toBeGreaterThanOrEqual(9)

        // The original's routes, over the caller's repositories.
        const listed = yield* client.symbols.listSymbols({ urlParams: { q: "Helper" } })
        expect(listed.symbols.map((s) => [s.name, s.path])).toEqual([["Helper", "app/helpers.py"]])
        const aliasCallers = yield* client.symbols.symbolCallers({ path: { symbol: "discount" }, urlParams: {} })
        expect(aliasCallers.callers.map((c) => c.caller)).toEqual(["price"])
        const fileSymbols = yield* getJson("/api/v1/files/symbols/internal/store/store.go")
        expect(fileSymbols.symbols.map((s: { name: string; kind: string }) => [s.name, s.kind])).toEqual([
          ["Open", "function"]
        ])
        const whole = yield* client.symbols.codebaseOverview({ urlParams: {} })
        expect(whole.repositories).toBe(1)

        // Another tenant sees none of it: the repository is a 404, its symbols are not in the search.
        const other = yield* clientFor((yield* createKey({ rate_limit: 10_000 })).api_key)
        const refused = yield* other.navigation.getOutline({ path: { id }, urlParams: { path: "src/cart.ts" } }).pipe(
          Effect.flip
        )
        expect(refused).toMatchObject({ _tag: "RepositoryNotFound" })
        expect((yield* other.navigation.searchSymbols({ urlParams: { q: "price" } })).symbols).toEqual([])
      })
    ),
  { timeout: 120_000 }
)
