import { HttpClient, HttpClientRequest, HttpServer } from "@effect/platform"
import { expect, layer } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Effect } from "effect"
import { CODE_FILES, seedCodeIntel } from "../utils/codeIntelFixture.js"
import { insertRepository } from "../utils/fixtures.js"
import { createKey, withKey } from "../utils/keys.js"
import { NAVIGATION_TOOLS } from "../utils/mcpTools.js"
import { testApp } from "../utils/TestApp.js"

/** The SDK's own client over Streamable HTTP, closed with the test's scope. */
const connect = (key: string) =>
  Effect.gen(function*() {
    const address = (yield* HttpServer.HttpServer).address as HttpServer.TcpAddress
    const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${address.port}/mcp`), {
      requestInit: { headers: { "x-api-key": key } }
    })
    const client = new Client({ name: "kotadb-test", version: "1.0.0" })
    return yield* Effect.acquireRelease(
      Effect.tryPromise(() => client.connect(transport)).pipe(Effect.as(client)),
      () => Effect.promise(() => client.close())
    )
  })

const call = (client: Client, name: string, args: Record<string, unknown>) =>
  Effect.promise(() => client.callTool({ name, arguments: args }) as Promise<CallToolResult>)

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const data = (result: CallToolResult): any => {
  expect(result.isError ?? false, JSON.stringify(result.content)).toBe(false)
  expect(JSON.parse((result.content[0] as { text: string }).text)).toEqual(result.structuredContent)
  return result.structuredContent
}

const toolError = (result: CallToolResult) => {
  expect(result.isError).toBe(true)
  const content = result.content[0]
  const text = content?.type === "text" ? content.text : ""
  return (text.startsWith("{") ? JSON.parse(text) : { _tag: "", message: text }) as { _tag: string; message: string }
}

layer(testApp(), { timeout: "120 seconds", excludeTestServices: true })("navigation tools over MCP", (it) => {
  it.scoped("each tool answers with structuredContent that its output schema describes", () =>
    Effect.gen(function*() {
      const key = yield* createKey({ rate_limit: 10_000 })
      const repository_id = yield* insertRepository(key.user_id, "fixture")
      yield* seedCodeIntel(repository_id)
      const client = yield* connect(key.api_key)

      const { tools } = yield* Effect.promise(() => client.listTools())
      for (const name of NAVIGATION_TOOLS) {
        const tool = tools.find((t) => t.name === name)
        expect(tool?.outputSchema?.type, name).toBe("object")
        expect(tool?.annotations?.readOnlyHint, name).toBe(true)
        expect(tool!.description!.length, name).toBeGreaterThan(80)
      }

      const symbols = data(yield* call(client, "search_symbols", { query: "user" }))
      expect(symbols.symbols.map((s: { name: string }) => s.name)).toEqual(["User", "UserRecord", "loadUser"])
      expect(symbols.resolution).toBe("name-match")
      const paged = data(yield* call(client, "search_symbols", { query: "main", language: "python", limit: 1 }))
      expect([paged.symbols[0].path, paged.next_cursor]).toEqual(["app/main.py", null])

      const definitions = data(
        yield* call(client, "find_definitions", { repository_id, name: "helper", path: "src/index.ts" })
      )
      expect(definitions.definitions.map((d: { path: string; relation: string }) => `${d.path}:${d.relation}`))
        .toEqual(["src/util.ts:imported", "app/helpers.py:other"])

      const references = data(
        yield* call(client, "find_references", { repository_id, name: "formatName", kind: "call", limit: 3 })
      )
      expect(references.references.length).toBe(3)
      const rest = data(
        yield* call(client, "find_references", {
          repository_id,
          name: "formatName",
          kind: "call",
          limit: 3,
          cursor: references.next_cursor
        })
      )
      expect([rest.references.length, rest.next_cursor]).toEqual([1, null])

      const callers = data(yield* call(client, "find_callers", { repository_id, name: "formatName" }))
      expect(callers.callers.map((c: { caller: string; call_count: number }) => `${c.caller}:${c.call_count}`))
        .toEqual(["main:1", "fullName:1", "helper:2"])

      const file = data(yield* call(client, "get_file", { repository_id, path: "src/util.ts" }))
      expect(file.content).toBe(CODE_FILES["src/util.ts"]!.content)
      const lines = data(yield* call(client, "get_file", { repository_id, path: "src/util.ts", start_line: 11 }))
      expect([lines.start_line, lines.end_line]).toEqual([11, 16])

      const outline = data(yield* call(client, "get_outline", { repository_id, path: "cmd/server.go" }))
      expect(outline.symbols[0]).toMatchObject({ name: "Server", children: [{ name: "addr" }, { name: "Serve" }] })

      const graph = data(yield* call(client, "dependencies", { repository_id, path: "src/util.ts", depth: 2 }))
      expect(graph.levels).toEqual([
        { depth: 1, paths: ["src/index.ts"] },
        { depth: 2, paths: ["src/models/user.ts"] }
      ])
      expect(graph.cycles).toContainEqual(["src/index.ts", "src/util.ts", "src/index.ts"])

      const impact = data(yield* call(client, "analyze_impact", { repository_id, paths: ["src/models/user.ts"] }))
      expect(impact.files.map((f: { path: string; depth: number }) => `${f.depth}:${f.path}`)).toEqual([
        "0:src/models/user.ts",
        "1:src/index.ts",
        "2:src/util.ts",
        "3:app/main.py"
      ])
    }))

  it.scoped("failures are tool errors: another tenant's repository, unknown files, bad arguments", () =>
    Effect.gen(function*() {
      const alice = yield* createKey({ rate_limit: 10_000 })
      const theirs = yield* insertRepository(alice.user_id, "alice")
      yield* seedCodeIntel(theirs)
      const bob = yield* createKey({ rate_limit: 10_000 })
      const mine = yield* insertRepository(bob.user_id, "bob")
      yield* seedCodeIntel(mine)
      const client = yield* connect(bob.api_key)

      for (const name of NAVIGATION_TOOLS.filter((n) => n !== "search_symbols")) {
        const args = { repository_id: theirs, name: "main", path: "src/index.ts", paths: ["src/index.ts"] }
        expect([name, toolError(yield* call(client, name, args))._tag]).toEqual([name, "RepositoryNotFound"])
      }
      const found = data(yield* call(client, "search_symbols", { query: "main", limit: 100 }))
      expect(found.symbols.every((s: { repository_id: string }) => s.repository_id === mine)).toBe(true)

      expect(toolError(yield* call(client, "get_file", { repository_id: mine, path: "nope.ts" }))._tag)
        .toBe("FileNotFound")
      expect(toolError(yield* call(client, "get_file", { repository_id: mine, path: "README.md", start_line: 9 }))._tag)
        .toBe("LineRangeOutsideFile")
      expect(
        toolError(
          yield* call(client, "get_file", { repository_id: mine, path: "README.md", start_line: 3, end_line: 2 })
        )
          ._tag
      ).toBe("InvalidArguments")
      expect(toolError(yield* call(client, "search_symbols", { query: "ma\u0000in" })).message).toMatch(/NUL/)
      expect(toolError(yield* call(client, "search_symbols", { query: "main", language: "klingon" }))._tag)
        .toBe("InvalidArguments")
      expect(toolError(yield* call(client, "search_symbols", { query: "main", cursor: "bogus" }))._tag)
        .toBe("InvalidCursor")
      expect(toolError(yield* call(client, "analyze_impact", { repository_id: mine, paths: [] })).message)
        .toMatch(/paths/)
      expect(toolError(yield* call(client, "dependencies", { repository_id: mine, path: "x", depth: 9 })).message)
        .toMatch(/depth/)
    }))

  it.effect("the REST bridge lists them under search and navigation and calls them", () =>
    Effect.gen(function*() {
      const key = yield* createKey({ rate_limit: 10_000 })
      const repository_id = yield* insertRepository(key.user_id, "fixture")
      yield* seedCodeIntel(repository_id)
      const http = yield* HttpClient.HttpClient
      const listing = (yield* Effect.flatMap(
        http.execute(HttpClientRequest.get("/mcp/tools").pipe(HttpClientRequest.setHeaders(withKey(key.api_key)))),
        (r) => r.json
      )) as { tools: Array<{ name: string; category: string }> }
      const categories = Object.fromEntries(listing.tools.map((t) => [t.name, t.category]))
      expect(NAVIGATION_TOOLS.map((name) => categories[name])).toEqual([
        "search",
        ...Array<string>(7).fill("navigation")
      ])
      const called = yield* Effect.flatMap(
        http.execute(
          HttpClientRequest.post("/mcp/tools/find_callers").pipe(
            HttpClientRequest.setHeaders(withKey(key.api_key)),
            HttpClientRequest.bodyUnsafeJson({ repository_id, name: "capitalize" })
          )
        ),
        (r) => Effect.map(r.json, (body) => ({ status: r.status, body }))
      )
      expect(called).toMatchObject({
        status: 200,
        body: { success: true, data: { callers: [{ path: "src/util.ts", caller: "formatName" }] } }
      })
      const refused = yield* Effect.flatMap(
        http.execute(
          HttpClientRequest.post("/mcp/tools/get_outline").pipe(
            HttpClientRequest.setHeaders(withKey(key.api_key)),
            HttpClientRequest.bodyUnsafeJson({ repository_id, path: "nope.ts" })
          )
        ),
        (r) => Effect.map(r.json, (body) => ({ status: r.status, body }))
      )
      expect(refused).toMatchObject({ status: 404, body: { success: false, error: { code: "file_not_found" } } })
    }))
})
