import { HttpServer } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Layer, Schedule } from "effect"
import { JobHandlersLive } from "../../src/layers/Worker.js"
import { UsageRecorder } from "../../src/services/UsageRecorder.js"
import { runWorker } from "../../src/worker/Worker.js"
import { gitServer } from "../utils/GitServer.js"
import { createKey } from "../utils/keys.js"
import { MCP_TOOLS as TOOLS } from "../utils/mcpTools.js"
import { testApp } from "../utils/TestApp.js"

const ALLOWED_ORIGIN = "https://agent.example.test"

const app = Layer.scopedDiscard(runWorker).pipe(
  Layer.provide(JobHandlersLive),
  Layer.provideMerge(testApp({
    GIT_ALLOW_PRIVATE_HOSTS: "true",
    WORKER_POLL_INTERVAL: "100 millis",
    MCP_ALLOWED_ORIGINS: ALLOWED_ORIGIN
  }))
)

const baseUrl = Effect.map(HttpServer.HttpServer, (server) => {
  const address = server.address as HttpServer.TcpAddress
  return `http://127.0.0.1:${address.port}`
})

/** The SDK's own client over Streamable HTTP, closed with the test's scope. */
const connect = (key: string | undefined, headers: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const url = new URL(`${yield* baseUrl}/mcp`)
    const transport = new StreamableHTTPClientTransport(url, {
      requestInit: { headers: { ...(key === undefined ? {} : { "x-api-key": key }), ...headers } }
    })
    const client = new Client({ name: "kotadb-test", version: "1.0.0" })
    return yield* Effect.acquireRelease(
      Effect.tryPromise(() => client.connect(transport)).pipe(Effect.as({ client, transport })),
      () => Effect.promise(() => client.close())
    )
  })

const call = (client: Client, name: string, args: Record<string, unknown> = {}) =>
  Effect.promise(() => client.callTool({ name, arguments: args }) as Promise<CallToolResult>)

const data = <A = Record<string, unknown>>(result: CallToolResult) => {
  expect(result.isError ?? false, JSON.stringify(result.content)).toBe(false)
  return result.structuredContent as A
}

/** A tool error: ours carry the error shape as JSON; the SDK's own (bad arguments, unknown tool) plain text. */
const toolError = (result: CallToolResult) => {
  expect(result.isError).toBe(true)
  const content = result.content[0]
  const text = content?.type === "text" ? content.text : ""
  return (text.startsWith("{") ? JSON.parse(text) : { _tag: "", message: text }) as { _tag: string; message: string }
}

/** A raw POST /mcp, for what the SDK client never sends. */
const post = (body: string, headers: Record<string, string>) =>
  Effect.gen(function*() {
    const url = yield* baseUrl
    const response = yield* Effect.promise(() =>
      fetch(`${url}/mcp`, {
        method: "POST",
        headers: { "content-type": "application/json", "accept": "application/json, text/event-stream", ...headers },
        body
      })
    )
    const text = yield* Effect.promise(() => response.text())
    return { status: response.status, headers: response.headers, body: text === "" ? null : JSON.parse(text) }
  })

const initialize = (version: string) =>
  JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: version, capabilities: {}, clientInfo: { name: "raw", version: "1" } }
  })

layer(app, { timeout: "120 seconds", excludeTestServices: true })("MCP over Streamable HTTP", (it) => {
  it.scoped("initializes at 2025-11-25 and lists every tool with input and output schemas", () =>
    Effect.gen(function*() {
      const key = yield* createKey({ rate_limit: 1000 })
      const { client, transport } = yield* connect(key.api_key)
      expect(client.getServerVersion()?.name).toBe("kotadb")
      expect(client.getServerCapabilities()?.tools).toBeDefined()
      expect(transport.protocolVersion).toBe("2025-11-25")
      const { tools } = yield* Effect.promise(() => client.listTools())
      expect(tools.map((tool) => tool.name).sort()).toEqual([...TOOLS].sort())
      for (const tool of tools) {
        expect(tool.description!.length).toBeGreaterThan(80)
        expect(tool.inputSchema.type).toBe("object")
        expect(tool.outputSchema?.type).toBe("object")
      }
    }))

  it.scoped("serves 2025-06-18 and 2025-03-26 clients in their own version", () =>
    Effect.gen(function*() {
      const key = yield* createKey({ rate_limit: 1000 })
      for (const version of ["2025-06-18", "2025-03-26"]) {
        const response = yield* post(initialize(version), { "x-api-key": key.api_key })
        expect(response.status).toBe(200)
        expect(response.body).toMatchObject({ jsonrpc: "2.0", id: 1, result: { protocolVersion: version } })
        const listed = yield* post(JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }), {
          "x-api-key": key.api_key,
          "mcp-protocol-version": version
        })
        expect(listed.body.result.tools).toHaveLength(TOOLS.length)
      }
    }))

  it.scoped("every tool works on a repository indexed from a real git server, with paging", () =>
    Effect.gen(function*() {
      const git = yield* gitServer()
      const repo = yield* Effect.promise(() => git.createRepository("acme/widgets"))
      yield* Effect.promise(() =>
        repo.commit({
          "README.md": "# Widgets\nwidget factory\n",
          "src/a.ts": "export const widget = 1\n",
          "src/b.ts": "// widget two\nexport const widgetTwo = 2\n",
          "src/c.ts": "export const gadget = 3\n"
        })
      )
      const key = yield* createKey({ rate_limit: 1000 })
      const { client } = yield* connect(key.api_key)

      const registered = data<{ repository_id: string; job_id: string; status: string; webhook_url: string }>(
        yield* call(client, "register_repository", { git_url: repo.url, branch: "main" })
      )
      // No webhook secret in an agent's context.
      expect(Object.keys(registered).sort()).toEqual(["job_id", "repository_id", "status", "webhook_url"])

      const job = yield* call(client, "get_job", { job_id: registered.job_id }).pipe(
        Effect.map((result) => data<{ status: string; events: Array<unknown> }>(result)),
        Effect.filterOrFail((j) => j.status === "completed" || j.status === "failed"),
        Effect.retry(Schedule.spaced("100 millis")),
        Effect.timeout("60 seconds")
      )
      expect(job.status).toBe("completed")

      const listed = data<{ repositories: Array<{ repository_id: string }>; next_cursor: string | null }>(
        yield* call(client, "list_repositories", {})
      )
      expect(listed.repositories.map((r) => r.repository_id)).toEqual([registered.repository_id])
      expect(listed.next_cursor).toBeNull()

      const repository = data<{ status: string; last_indexed_commit: string | null }>(
        yield* call(client, "get_repository", { repository_id: registered.repository_id })
      )
      expect(repository.status).toBe("ready")
      expect(repository.last_indexed_commit).toMatch(/^[0-9a-f]{40}$/)

      // Three files mention "widget" on five lines; one match per page walks them in path order, resuming
      // inside a file.
      const seen: Array<string> = []
      let cursor: string | undefined
      for (let page = 0; page < 8; page++) {
        const result = data<
          { matches: Array<{ path: string; line: number; snippet: string }>; next_cursor: string | null }
        >(
          yield* call(client, "search_code", {
            query: "WIDGET",
            repository_id: registered.repository_id,
            limit: 1,
            ...(cursor === undefined ? {} : { cursor })
          })
        )
        seen.push(...result.matches.map((m) => `${m.path}:${m.line}`))
        if (result.next_cursor === null) break
        cursor = result.next_cursor
      }
      expect(seen).toEqual(["README.md:1", "README.md:2", "src/a.ts:1", "src/b.ts:1", "src/b.ts:2"])

      const all = data<{ matches: Array<{ path: string }> }>(yield* call(client, "search_code", { query: "widget" }))
      expect(all.matches.map((m) => m.path)).toEqual(["README.md", "README.md", "src/a.ts", "src/b.ts", "src/b.ts"])

      const reindexed = data<{ repository_id: string; job_id: string }>(
        yield* call(client, "reindex_repository", { repository_id: registered.repository_id })
      )
      expect(reindexed.repository_id).toBe(registered.repository_id)
      expect(reindexed.job_id).not.toBe(registered.job_id)
      // The reindex runs against this test's git server: it must be done before the scope closes that.
      const reindex = yield* call(client, "get_job", { job_id: reindexed.job_id }).pipe(
        Effect.map((result) => data<{ status: string }>(result)),
        Effect.filterOrFail((j) => j.status === "completed" || j.status === "failed"),
        Effect.retry(Schedule.spaced("100 millis")),
        Effect.timeout("60 seconds")
      )
      expect(reindex.status).toBe("completed")

      // Bad arguments and typed failures are tool errors, not protocol or HTTP errors.
      expect(toolError(yield* call(client, "search_code", { query: "ab" })).message).toMatch(/query|3/)
      expect(toolError(yield* call(client, "search_code", { query: "wid\u0000get" })).message).toMatch(/NUL/)
      expect(toolError(yield* call(client, "search_code", { query: "widget", cursor: "bogus" }))._tag)
        .toBe("InvalidCursor")
      expect(toolError(yield* call(client, "register_repository", { git_url: "file:///etc" }))._tag)
        .toBe("InvalidGitUrl")
      expect(toolError(yield* call(client, "no_such_tool", {})).message).toMatch(/not found/)

      // The audit row names the route and the tool.
      yield* Effect.flatMap(UsageRecorder, (recorder) => recorder.flush)
      const sql = yield* SqlClient.SqlClient
      const audit = yield* sql<{ route: string; tool: string | null; n: number }>`
        SELECT route, tool, count(*)::int AS n FROM api_key_usage WHERE key_id = ${key.key_id}
        GROUP BY route, tool ORDER BY tool`
      expect(audit).toContainEqual({ route: "/mcp", tool: "search_code", n: 9 })
      expect(audit.find((row) => row.tool === "get_job")?.n).toBeGreaterThanOrEqual(2)
      expect(audit).toContainEqual({ route: "/mcp", tool: "register_repository", n: 2 })
      expect(audit.every((row) => row.route === "/mcp")).toBe(true)
    }))

  it.scoped("another tenant's repository and job are invisible through every tool", () =>
    Effect.gen(function*() {
      const owner = yield* createKey({ rate_limit: 1000 })
      const other = yield* createKey({ rate_limit: 1000 })
      const { client: ownerClient } = yield* connect(owner.api_key)
      const registered = data<{ repository_id: string; job_id: string }>(
        yield* call(ownerClient, "register_repository", { git_url: "http://127.0.0.1:9/acme/secret.git" })
      )
      const sql = yield* SqlClient.SqlClient
      yield* sql`
        INSERT INTO indexed_files (repository_id, path, blob_sha, language, size_bytes, line_count)
        VALUES (${registered.repository_id}, 'secret.ts', ${"a".repeat(40)}, 'TypeScript', 30, 1)`
      yield* sql`
        INSERT INTO indexed_chunks (repository_id, path, chunk_no, start_line, language, content, folded)
        VALUES (${registered.repository_id}, 'secret.ts', 0, 1, 'TypeScript',
                'const hunter2 = "tenant secret"', 'const hunter2 = "tenant secret"')`

      const { client } = yield* connect(other.api_key)
      const id = { repository_id: registered.repository_id }
      expect(data<{ repositories: Array<unknown> }>(yield* call(client, "list_repositories")).repositories)
        .toEqual([])
      expect(toolError(yield* call(client, "get_repository", id))._tag).toBe("RepositoryNotFound")
      expect(toolError(yield* call(client, "reindex_repository", id))._tag).toBe("RepositoryNotFound")
      expect(toolError(yield* call(client, "search_code", { query: "hunter2", ...id }))._tag)
        .toBe("RepositoryNotFound")
      expect(data<{ matches: Array<unknown> }>(yield* call(client, "search_code", { query: "hunter2" })).matches)
        .toEqual([])
      expect(toolError(yield* call(client, "get_job", { job_id: registered.job_id }))._tag).toBe("JobNotFound")
      // The owner sees it.
      expect(data<{ matches: Array<unknown> }>(yield* call(ownerClient, "search_code", { query: "hunter2" })).matches)
        .toHaveLength(1)
      const jobs = yield* sql<{ n: number }>`
        SELECT count(*)::int AS n FROM indexing_jobs WHERE repository_id = ${registered.repository_id}`
      expect(jobs[0]!.n).toBe(1)

      // Servers are pooled across requests: concurrent calls of both tenants each see their own.
      const seen = yield* Effect.all(
        Array.from({ length: 30 }, (_, i) =>
          call(i % 2 === 0 ? ownerClient : client, "list_repositories").pipe(
            Effect.map((result) => [i % 2, data<{ repositories: Array<unknown> }>(result).repositories.length])
          )),
        { concurrency: "unbounded" }
      )
      expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => [i % 2, i % 2 === 0 ? 1 : 0]))
    }))

  it.scoped("a read-only key reads but every write tool is a Forbidden tool error", () =>
    Effect.gen(function*() {
      const user_email = `${crypto.randomUUID()}@example.test`
      const writer = yield* createKey({ rate_limit: 1000, user_email })
      const reader = yield* createKey({ rate_limit: 1000, user_email, scopes: ["read"] })
      const { client: writerClient } = yield* connect(writer.api_key)
      const registered = data<{ repository_id: string; job_id: string }>(
        yield* call(writerClient, "register_repository", { git_url: "http://127.0.0.1:9/acme/ro.git" })
      )
      const { client } = yield* connect(reader.api_key)
      const forbidden = [
        yield* call(client, "register_repository", { git_url: "http://127.0.0.1:9/acme/ro2.git" }),
        yield* call(client, "reindex_repository", { repository_id: registered.repository_id })
      ]
      for (const result of forbidden) {
        expect(toolError(result)).toEqual({ _tag: "Forbidden", message: "this API key lacks the \"write\" scope" })
      }
      expect(data<{ repositories: Array<unknown> }>(yield* call(client, "list_repositories")).repositories)
        .toHaveLength(1)
      data(yield* call(client, "get_job", { job_id: registered.job_id }))
      const sql = yield* SqlClient.SqlClient
      const counts = yield* sql<{ repositories: number; jobs: number }>`
        SELECT (SELECT count(*)::int FROM repositories WHERE user_id = ${writer.user_id}) AS repositories,
               (SELECT count(*)::int FROM indexing_jobs WHERE repository_id = ${registered.repository_id}) AS jobs`
      expect(counts[0]).toEqual({ repositories: 1, jobs: 1 })
    }))

  it.scoped("401 without a key, 403 for an Origin not allowed, 429 past the rate limit", () =>
    Effect.gen(function*() {
      const refused = yield* Effect.flip(connect(undefined))
      expect(refused.error).toBeInstanceOf(StreamableHTTPError)
      expect((refused.error as StreamableHTTPError).code).toBe(401)
      const raw = yield* post(initialize("2025-11-25"), {})
      expect(raw.status).toBe(401)
      expect(raw.body).toMatchObject({ _tag: "Unauthorized" })

      const key = yield* createKey({ rate_limit: 1000 })
      const badOrigin = yield* post(initialize("2025-11-25"), { "x-api-key": key.api_key, origin: "https://evil.test" })
      expect(badOrigin.status).toBe(403)
      expect(badOrigin.body).toMatchObject({ _tag: "Forbidden" })
      // Refused before the key is looked at: also without one.
      expect((yield* post(initialize("2025-11-25"), { origin: "http://localhost:1234" })).status).toBe(403)
      const fromSdk = yield* Effect.flip(connect(key.api_key, { origin: "https://evil.test" }))
      expect((fromSdk.error as StreamableHTTPError).code).toBe(403)
      yield* connect(key.api_key, { origin: ALLOWED_ORIGIN })

      const limited = yield* createKey({ rate_limit: 3 })
      const { client } = yield* connect(limited.api_key) // initialize + initialized: two requests
      data(yield* call(client, "list_repositories"))
      const over = yield* Effect.flip(Effect.tryPromise(() => client.listTools()))
      expect((over.error as StreamableHTTPError).code).toBe(429)
      const rawOver = yield* post(initialize("2025-11-25"), { "x-api-key": limited.api_key })
      expect(rawOver.status).toBe(429)
      expect(rawOver.headers.get("retry-after")).toMatch(/^\d+$/)
    }))

  it.scoped("GET is a 405, bad JSON-RPC a JSON-RPC error, a wrong Accept a 406, a large body a 413", () =>
    Effect.gen(function*() {
      const key = yield* createKey({ rate_limit: 1000 })
      const headers = { "x-api-key": key.api_key }
      const url = yield* baseUrl
      const get = yield* Effect.promise(() =>
        fetch(`${url}/mcp`, { headers: { ...headers, accept: "text/event-stream" } })
      )
      expect(get.status).toBe(405)
      expect(yield* Effect.promise(() => get.json())).toMatchObject({ _tag: "MethodNotAllowed", allowed: ["POST"] })

      const parse = yield* post("{not json", headers)
      expect(parse.status).toBe(400)
      expect(parse.body).toMatchObject({ jsonrpc: "2.0", error: { code: -32700 } })
      const invalid = yield* post(JSON.stringify({ hello: "world" }), headers)
      expect(invalid.status).toBe(400)
      expect(invalid.body.error.code).toBeLessThan(0)
      const unknown = yield* post(JSON.stringify({ jsonrpc: "2.0", id: 7, method: "no/such" }), headers)
      expect(unknown.status).toBe(200)
      expect(unknown.body).toMatchObject({ id: 7, error: { code: -32601 } })
      const notAcceptable = yield* post(initialize("2025-11-25"), { ...headers, accept: "application/json" })
      expect(notAcceptable.status).toBe(406)
      const big = yield* post(
        JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", params: { x: "a".repeat(1_100_000) } }),
        headers
      )
      expect(big.status).toBe(413)
      expect(big.body).toMatchObject({ _tag: "PayloadTooLarge" })
      const batch = yield* post(
        JSON.stringify(Array.from({ length: 11 }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "ping" }))),
        headers
      )
      expect(batch.status).toBe(400)
      expect(batch.body.error.code).toBe(-32600)
      const notification = yield* post(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }), headers)
      expect(notification.status).toBe(202)
    }))
})
