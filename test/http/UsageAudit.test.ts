import { HttpClient, HttpClientRequest, HttpLayerRouter } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Layer, Redacted } from "effect"
import { generateApiKey } from "../../src/domain/ApiKeyFormat.js"
import { DatabaseUrl } from "../../src/layers/EmbeddedPostgres.js"
import { RoutesLive } from "../../src/layers/Http.js"
import { ApiKeyAdmin } from "../../src/services/ApiKeyAdmin.js"
import { UsageRecorder } from "../../src/services/UsageRecorder.js"
import { testServices } from "../utils/TestApp.js"
import { TestDatabaseLive } from "../utils/TestDatabase.js"

// The periodic flush never fires during the test: whatever is in the table was written at shutdown.
const server = HttpLayerRouter.serve(RoutesLive, { disableLogger: true, disableListenLog: true }).pipe(
  Layer.provideMerge(NodeHttpServer.layerTest),
  Layer.provideMerge(testServices({ USAGE_FLUSH_INTERVAL: "1 hour" }))
)

layer(TestDatabaseLive, { timeout: "60 seconds", excludeTestServices: true })("usage audit", (it) => {
  it.effect("after a graceful shutdown every request is in api_key_usage with its outcome", () =>
    Effect.gen(function*() {
      const { keyId, pendingAtShutdown } = yield* Effect.scoped(Effect.gen(function*() {
        const context = yield* Layer.build(server)
        const client = Context.get(context, HttpClient.HttpClient)
        const admin = Context.get(context, ApiKeyAdmin)
        const call = (headers: Record<string, string>) =>
          client.execute(HttpClientRequest.get("/api/v1/me").pipe(HttpClientRequest.setHeaders(headers)))
        const key = yield* admin.create({ user_email: "audit@example.test", rate_limit: 3 })
        const fenced = yield* admin.create({ user_email: "audit@example.test", allowed_ips: ["10.0.0.0/8"] })
        for (let i = 0; i < 5; i++) yield* call({ "x-api-key": key.api_key }) // 3 ok, 2 rate limited
        yield* call({}) // missing
        yield* call({ "x-api-key": "kdb_live_garbage" }) // malformed
        yield* call({ "x-api-key": Redacted.value(generateApiKey()) }) // unknown
        yield* call({ "x-api-key": fenced.api_key }) // forbidden
        const pending = yield* Effect.flatMap(UsageRecorder, (r) => r.pending).pipe(Effect.provide(context))
        return { keyId: key.key_id, pendingAtShutdown: pending }
      }))
      expect(pendingAtShutdown).toBe(9)

      const url = yield* DatabaseUrl
      const rows = yield* Effect.flatMap(
        SqlClient.SqlClient,
        (sql) =>
          sql<{ outcome: string; status: number; keyId: string | null; route: string }>`
          SELECT outcome, status, key_id AS "keyId", route FROM api_key_usage ORDER BY id`
      ).pipe(
        Effect.provide(PgClient.layer({ url }))
      )
      expect(rows.map((r) => [r.outcome, r.status])).toEqual([
        ["ok", 200],
        ["ok", 200],
        ["ok", 200],
        ["rate_limited", 429],
        ["rate_limited", 429],
        ["unauthorized", 401],
        ["unauthorized", 401],
        ["unauthorized", 401],
        ["forbidden", 403]
      ])
      expect(rows.slice(0, 5).map((r) => r.keyId)).toEqual(Array(5).fill(keyId))
      expect(rows.slice(5, 8).map((r) => r.keyId)).toEqual([null, null, null])
      expect(rows.every((r) => r.route === "/api/v1/me")).toBe(true)
    }))
})
