// Generated bad MCP traffic against POST /mcp and the /mcp/tools bridge: malformed JSON and JSON-RPC,
// batches of every size, unknown methods and tools, tool calls with wrong arguments, odd headers. Pass:
// no 5xx, every error either a JSON-RPC error, a tool error, the bridge's shape or the one error shape,
// and no row written.
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import { createKey } from "../utils/keys.js"
import { MCP_TOOLS as TOOLS } from "../utils/mcpTools.js"
import { testApp } from "../utils/TestApp.js"

const RUNS = Number(process.env.FUZZ_RUNS ?? 1000) / 2

const TABLES = ["repositories", "repository_secrets", "indexing_jobs", "indexing_job_events", "indexed_files"] as const
const METHODS = ["initialize", "tools/list", "tools/call", "ping", "notifications/initialized", "resources/list"]

const weird = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme", maxLength: 30 }),
  fc.constantFrom(
    "",
    "\u0000",
    "\ud800",
    "x".repeat(5_000),
    "'; DROP TABLE repositories; --",
    crypto.randomUUID(),
    "file:///etc/passwd",
    "https://127.0.0.1/a/b.git",
    "2025-11-25",
    "1999-01-01"
  )
)
const json: fc.Arbitrary<unknown> = fc.oneof(
  weird,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(weird, { maxLength: 4 }),
  fc.dictionary(weird, weird, { maxKeys: 4 })
)
const args = fc.dictionary(
  fc.oneof(
    fc.constantFrom(
      "query",
      "repository_id",
      "limit",
      "cursor",
      "git_url",
      "branch",
      "name",
      "job_id",
      "path",
      "paths",
      "kind",
      "start_line",
      "depth"
    ),
    weird
  ),
  json,
  { maxKeys: 5 }
)
const message = fc.record({
  jsonrpc: fc.oneof({ arbitrary: fc.constant("2.0"), weight: 5 }, { arbitrary: json, weight: 1 }),
  id: fc.oneof(fc.integer(), weird, fc.constant(null)),
  method: fc.oneof({ arbitrary: fc.constantFrom(...METHODS), weight: 5 }, { arbitrary: weird, weight: 1 }),
  params: fc.oneof(
    fc.record({ name: fc.oneof(fc.constantFrom(...TOOLS), weird), arguments: fc.oneof(args, json) }),
    fc.record({ protocolVersion: weird, capabilities: json, clientInfo: json }),
    json
  )
}, { requiredKeys: ["jsonrpc", "method"] })
const body = fc.oneof(
  { arbitrary: message.map((m) => JSON.stringify(m)), weight: 6 },
  { arbitrary: fc.array(message, { maxLength: 300 }).map((ms) => JSON.stringify(ms)), weight: 2 },
  { arbitrary: json.map((v) => JSON.stringify(v)), weight: 1 },
  fc.constantFrom("", "{", "[", "[]", "[{}]", "{\"jsonrpc\":\"2.0\",\"method\":", "\u0000", "null", "{}}")
)
const sample = fc.record({
  target: fc.oneof(fc.constant("/mcp"), fc.constantFrom(...TOOLS, "nope").map((tool) => `/mcp/tools/${tool}`)),
  body,
  accept: fc.constantFrom(
    ...Array<string>(6).fill("application/json, text/event-stream"),
    "application/json",
    "*/*",
    ""
  ),
  contentType: fc.constantFrom(...Array<string>(6).fill("application/json"), "text/plain", ""),
  protocolVersion: fc.option(fc.oneof(fc.constantFrom("2025-11-25", "2025-06-18", "2025-03-26"), weird)),
  auth: fc.constantFrom("valid", "valid", "valid", "none")
})

const ascii = (value: string) => value.replace(/[^\x20-\x7e]/g, "")

const isJsonRpcError = (value: unknown) =>
  typeof value === "object" && value !== null && "error" in value &&
  typeof (value as { error: { code?: unknown } }).error?.code === "number"

layer(testApp(), { timeout: "240 seconds", excludeTestServices: true })("MCP fuzz", (it) => {
  it.effect(`${RUNS} generated bad MCP requests: no 5xx, errors in a known shape, nothing written`, () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const sql = yield* SqlClient.SqlClient
      const key = (yield* createKey({ rate_limit: 100_000 })).api_key
      const counts = Effect.map(
        Effect.all(TABLES.map((table) => sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql(table)}`)),
        (rows) => rows.map((r) => r[0]!.n).join(",")
      )
      const before = yield* counts
      const statuses = new Map<number, number>()
      for (const s of fc.sample(sample, { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 42) })) {
        const headers: Record<string, string> = {}
        if (s.accept !== "") headers["accept"] = s.accept
        if (s.auth === "valid") headers["x-api-key"] = key
        if (s.protocolVersion !== null) headers["mcp-protocol-version"] = ascii(s.protocolVersion)
        const response = yield* client.execute(
          HttpClientRequest.post(s.target).pipe(
            HttpClientRequest.setHeaders(headers),
            HttpClientRequest.bodyText(s.body, s.contentType === "" ? "application/octet-stream" : s.contentType)
          )
        )
        const text = yield* response.text
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
        const described = `${s.target} ${JSON.stringify(headers)} ${s.body.slice(0, 200)} -> ${text.slice(0, 300)}`
        expect(response.status, described).toBeLessThan(500)
        if (response.status === 202) continue
        const parsed = JSON.parse(text) as Record<string, unknown> | Array<unknown>
        if (response.status >= 400) {
          const known = isJsonRpcError(parsed) ||
            (typeof (parsed as { _tag?: unknown })._tag === "string") ||
            ((parsed as { success?: unknown }).success === false)
          expect(known, described).toBe(true)
        }
      }
      expect(yield* counts).toBe(before)
      console.log(
        `mcp fuzz: ${RUNS} requests; statuses ${
          JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))
        }`
      )
    }))

  // The SDK alone takes batches of up to 100 messages: each would be a search for one rate-limited request.
  it.effect("a batch of fifty tool calls is one refused request, not fifty searches", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const key = (yield* createKey({ rate_limit: 100_000 })).api_key
      const batch = Array.from({ length: 50 }, (_, id) => ({
        jsonrpc: "2.0",
        id,
        method: "tools/call",
        params: { name: "search_code", arguments: { query: "anything" } }
      }))
      const response = yield* client.execute(
        HttpClientRequest.post("/mcp").pipe(
          HttpClientRequest.setHeaders({ "x-api-key": key, "accept": "application/json, text/event-stream" }),
          HttpClientRequest.bodyUnsafeJson(batch)
        )
      )
      expect(response.status).toBe(400)
      expect(yield* response.json).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: -32600 } })
    }))
})
