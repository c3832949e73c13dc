import { HttpClient, HttpClientRequest } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { createKey, get, withKey } from "../utils/keys.js"
import { MCP_TOOLS as TOOLS } from "../utils/mcpTools.js"
import { testApp } from "../utils/TestApp.js"

const post = (path: string, headers: Record<string, string>, body?: string) =>
  Effect.flatMap(HttpClient.HttpClient, (client) =>
    client.execute(
      HttpClientRequest.post(path).pipe(
        HttpClientRequest.setHeaders(headers),
        body === undefined ? (r) => r : HttpClientRequest.bodyText(body, "application/json")
      )
    ))

layer(testApp({ GIT_ALLOW_PRIVATE_HOSTS: "true" }), { timeout: "60 seconds", excludeTestServices: true })(
  "the original MCP REST bridge",
  (it) => {
    it.effect("GET and POST /mcp/tools list the tools with their categories, behind the key", () =>
      Effect.gen(function*() {
        const key = yield* createKey({ rate_limit: 1000 })
        for (
          const response of [
            yield* get("/mcp/tools", withKey(key.api_key)),
            yield* post("/mcp/tools", withKey(key.api_key), "{}")
          ]
        ) {
          expect(response.status).toBe(200)
          const body = (yield* response.json) as {
            tools: Array<{ name: string; category: string }>
            total_count: number
          }
          expect(body.total_count).toBe(TOOLS.length)
          expect(body.tools.map((tool) => tool.name)).toEqual(TOOLS)
          expect(body.tools.find((tool) => tool.name === "search_code")?.category).toBe("search")
        }
        expect((yield* get("/mcp/tools")).status).toBe(401)
        expect((yield* post("/mcp/tools/search_code", {}, "{}")).status).toBe(401)
      }))

    it.effect("POST /mcp/tools/:name calls the tool: {success, data} or {success: false, error: {code, message}}", () =>
      Effect.gen(function*() {
        const user_email = `${crypto.randomUUID()}@example.test`
        const key = yield* createKey({ rate_limit: 1000, user_email })
        const headers = withKey(key.api_key)
        const registered = yield* post(
          "/mcp/tools/register_repository",
          headers,
          JSON.stringify({
            git_url: "http://127.0.0.1:9/acme/bridge.git"
          })
        )
        expect(registered.status).toBe(200)
        const { data } = (yield* registered.json) as { success: true; data: { repository_id: string } }
        const sql = yield* SqlClient.SqlClient
        yield* sql`
          INSERT INTO indexed_files (repository_id, path, blob_sha, language, size_bytes, line_count)
          VALUES (${data.repository_id}, 'src/main.rs', ${"b".repeat(40)}, 'Rust', 40, 2)`
        const content = "use std::io;\nasync fn serve() {}\n"
        yield* sql`
          INSERT INTO indexed_chunks (repository_id, path, chunk_no, start_line, language, content, folded)
          VALUES (${data.repository_id}, 'src/main.rs', 0, 1, 'Rust', ${content}, ${content.toLowerCase()})`

        const found = yield* post("/mcp/tools/search_code", headers, JSON.stringify({ query: "async fn", limit: 5 }))
        expect(found.status).toBe(200)
        expect(yield* found.json).toEqual({
          success: true,
          data: {
            matches: [{
              repository_id: data.repository_id,
              path: "src/main.rs",
              language: "Rust",
              line: 2,
              column: 1,
              snippet: "async fn serve() {}",
              ranges: [[0, 8]]
            }],
            next_cursor: null
          }
        })

        const failures: Array<readonly [string, string | undefined, number, string]> = [
          ["no_such_tool", "{}", 404, "tool_not_found"],
          ["search_code", "{\"query\":", 400, "invalid_json"],
          ["search_code", JSON.stringify({ query: "x" }), 400, "invalid_arguments"],
          ["search_code", JSON.stringify({ query: "a\u0000b" }), 400, "invalid_arguments"],
          ["search_code", JSON.stringify(["not", "an", "object"]), 400, "invalid_arguments"],
          ["search_code", undefined, 400, "invalid_arguments"],
          ["get_repository", JSON.stringify({ repository_id: crypto.randomUUID() }), 404, "repository_not_found"],
          ["get_job", JSON.stringify({ job_id: crypto.randomUUID() }), 404, "job_not_found"],
          ["register_repository", JSON.stringify({ git_url: "file:///etc/passwd" }), 400, "invalid_git_url"]
        ]
        for (const [name, body, status, code] of failures) {
          const response = yield* post(`/mcp/tools/${name}`, headers, body)
          expect(response.status, `${name} ${body}`).toBe(status)
          expect(yield* response.json).toMatchObject({ success: false, error: { code, message: expect.any(String) } })
        }

        const reader = yield* createKey({ rate_limit: 1000, user_email, scopes: ["read"] })
        const refused = yield* post(
          `/mcp/tools/reindex_repository`,
          withKey(reader.api_key),
          JSON.stringify({
            repository_id: data.repository_id
          })
        )
        expect(refused.status).toBe(403)
        expect(yield* refused.json).toEqual({
          success: false,
          error: { code: "forbidden", message: "this API key lacks the \"write\" scope" }
        })
        const read = yield* post("/mcp/tools/list_repositories", withKey(reader.api_key), "{}")
        expect(read.status).toBe(200)
        const jobs = yield* sql<{ n: number }>`
          SELECT count(*)::int AS n FROM indexing_jobs WHERE repository_id = ${data.repository_id}`
        expect(jobs[0]!.n).toBe(1)
      }))
  }
)
