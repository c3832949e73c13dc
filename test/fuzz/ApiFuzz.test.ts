// Generated bad requests against every route of the OpenAPI document: wrong types, missing and extra
// fields, huge and unicode strings, NUL and lone surrogates, bad networks, bad ids, bad headers, bad JSON,
// wrong content types. Pass: no 5xx, every error in the one shape with a short message, and no row
// written by a refused request.
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import { vi } from "vitest"
import { createKey } from "../utils/keys.js"
import { testApp } from "../utils/TestApp.js"

const INTERNAL_KEY = "fuzz-internal-key-0123456789abcdef"
const RUNS = Number(process.env.FUZZ_RUNS ?? 1000)
// A thousand requests take well over vitest's default minute on a loaded machine.
vi.setConfig({ testTimeout: 240_000 })
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

interface Operation {
  readonly method: string
  readonly path: string
}

const TABLES = [
  "api_keys",
  "repositories",
  "repository_secrets",
  "indexing_jobs",
  "indexing_job_events",
  "webhook_deliveries",
  "indexed_files",
  "token_usage"
] as const

const weird = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme", maxLength: 50 }),
  fc.constantFrom(
    "",
    " ",
    "null",
    "0",
    "-1",
    "1e309",
    "NaN",
    "../../etc/passwd",
    "%00",
    "\u0000",
    "a\u0000b",
    "\ud800",
    "x\udc00y",
    "999.1.1.1/8",
    "10.0.0.1/8",
    "::1/129",
    "-004714-01-01T00:00:00Z",
    "'; DROP TABLE repositories; --",
    "00000000-0000-0000-0000-000000000000",
    crypto.randomUUID(),
    "x".repeat(10_000),
    "💥".repeat(500),
    "file:///etc/passwd",
    "https://127.0.0.1/a/b.git",
    "kdb_live_00000000000000000000000000"
  )
)
const jsonValue = fc.oneof(
  weird,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(weird, { maxLength: 5 }),
  fc.dictionary(weird, weird, { maxKeys: 5 })
)
const knownFields = [
  "git_url",
  "branch",
  "name",
  "settings",
  "user_email",
  "user_id",
  "rate_limit",
  "monthly_quota",
  "allowed_ips",
  "expires_at",
  "branches",
  "max_file_size"
]
const body = fc.oneof(
  fc.dictionary(fc.oneof(fc.constantFrom(...knownFields), weird), jsonValue, { maxKeys: 8 }).map((o) =>
    JSON.stringify(o)
  ),
  jsonValue.map((v) => JSON.stringify(v)),
  fc.constantFrom("{", "{\"git_url\":", "[1,2", "not json", "\u0000\u0001", "{\"a\":1}}", "")
)
const contentType = fc.constantFrom(
  "application/json",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/json; charset=latin1",
  "",
  "*/*"
)
const auth = fc.constantFrom("valid", "internal", "none", "garbage")

const request = (operations: ReadonlyArray<Operation>) =>
  fc.record({
    operation: fc.constantFrom(...operations),
    pathValues: fc.array(weird, { minLength: 3, maxLength: 3 }),
    query: fc.dictionary(
      fc.oneof(
        fc.constantFrom(
          "limit",
          "cursor",
          "q",
          "repository_id",
          "job_id",
          "user_email",
          "name",
          "path",
          "lines",
          "kind",
          "depth"
        ),
        weird
      ),
      weird,
      { maxKeys: 4 }
    ),
    body,
    contentType,
    auth,
    extraHeader: fc.option(
      fc.tuple(
        fc.constantFrom(
          "x-github-event",
          "x-github-delivery",
          "x-hub-signature-256",
          "content-length",
          "authorization"
        ),
        weird
      )
    )
  })

layer(testApp({ INTERNAL_API_KEY: INTERNAL_KEY }), { timeout: "240 seconds", excludeTestServices: true })(
  "fuzz",
  (it) => {
    it.effect(`${RUNS} generated bad requests: no 5xx, one error shape, nothing written when refused`, () =>
      Effect.gen(function*() {
        const client = yield* HttpClient.HttpClient
        const sql = yield* SqlClient.SqlClient
        const key = (yield* createKey({ rate_limit: 100_000 })).api_key
        const document = yield* Effect.flatMap(client.get("/openapi.json"), (r) => r.json) as Effect.Effect<{
          paths: Record<string, Record<string, unknown>>
        }>
        // /mcp answers JSON-RPC errors and the bridge its own shape: test/fuzz/McpFuzz.test.ts fuzzes them.
        const operations: Array<Operation> = Object.entries(document.paths).filter(([path]) => !path.startsWith("/mcp"))
          .flatMap(([path, methods]) => Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })))
        expect(operations.length).toBeGreaterThan(20)

        const counts = Effect.map(
          Effect.all(TABLES.map((table) => sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql(table)}`)),
          (rows) => rows.map((r) => r[0]!.n).join(",")
        )
        const samples = fc.sample(request(operations), { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 42) })
        const statuses = new Map<number, number>()
        for (const sample of samples) {
          let i = 0
          const path = sample.operation.path.replace(
            /\{[^}]+\}/g,
            // encodeURIComponent throws on a lone surrogate, which only a JSON body can carry.
            () => encodeURIComponent((sample.pathValues[i++] ?? "").replace(LONE_SURROGATE, "\ufffd"))
          )
          const query = new URLSearchParams(sample.query).toString()
          const headers: Record<string, string> = {}
          if (sample.contentType !== "") {
            headers["content-type"] = sample.contentType
          }
          if (sample.auth === "valid") headers["x-api-key"] = key
          if (sample.auth === "internal") headers["x-internal-key"] = INTERNAL_KEY
          if (sample.auth === "garbage") headers["x-api-key"] = sample.pathValues[0]!.replace(/[^\x20-\x7e]/g, "")
          if (sample.extraHeader !== null) {
            const [name, value] = sample.extraHeader
            if (name !== "content-length") headers[name] = value.replace(/[^\x20-\x7e]/g, "")
          }
          const before = yield* counts
          const response = yield* client.execute(
            HttpClientRequest.make(sample.operation.method as "GET")(`${path}${query === "" ? "" : `?${query}`}`).pipe(
              HttpClientRequest.setHeaders(headers),
              ["GET", "DELETE"].includes(sample.operation.method)
                ? (r) => r
                : HttpClientRequest.bodyText(
                  sample.body,
                  sample.contentType === "" ? "application/octet-stream" : sample.contentType
                )
            )
          )
          const text = yield* response.text
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
          const described = `${sample.operation.method} ${path}?${query} [${sample.auth}] ${sample.body.slice(0, 200)}`
          expect(response.status, `${described} -> ${text.slice(0, 300)}`).toBeLessThan(500)
          if (response.status >= 400) {
            let parsed: Record<string, unknown> = {}
            try {
              parsed = JSON.parse(text) as Record<string, unknown>
            } catch {
              expect.fail(
                `${described} -> ${response.status} with a body that is not JSON: ${JSON.stringify(text.slice(0, 200))}`
              )
            }
            expect(typeof parsed._tag, described).toBe("string")
            expect(typeof parsed.message, described).toBe("string")
            // A rejected value is quoted in about 100 characters at most, and never with the whole schema.
            expect((parsed.message as string).length, described).toBeLessThan(500)
            // Refused requests write nothing (api_key_usage, the audit of every request, is not counted).
            expect(yield* counts, described).toBe(before)
          }
        }
        console.log(
          `fuzz: ${samples.length} requests over ${operations.length} operations; statuses ${
            JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))
          }`
        )
      }))
  }
)
