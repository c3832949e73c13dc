import { SqlClient, SqlSchema } from "@effect/sql"
import { Effect, Schema } from "effect"
import type { ApiKeyId, UsageOutcome } from "../../domain/ApiKey.js"

export interface UsageRow {
  readonly keyId: string | null
  readonly userId: string | null
  readonly route: string
  readonly method: string
  readonly status: number
  readonly latencyMs: number
  readonly ip: string | null
  readonly userAgent: string | null
  readonly outcome: UsageOutcome
  /** The MCP tool(s) called, for `/mcp` requests. */
  readonly tool?: string | null | undefined
  readonly createdAt: Date
}

/** Owns `api_key_usage`, the audit log of every authenticated-route request. */
export class UsageStore extends Effect.Service<UsageStore>()("services/stores/UsageStore", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const outcomes = SqlSchema.findAll({
      Request: Schema.Struct({ keyId: Schema.String, since: Schema.DateFromSelf }),
      Result: Schema.Struct({ outcome: Schema.String, n: Schema.Int }),
      execute: ({ keyId, since }) =>
        sql`
          SELECT outcome, count(*)::int AS n FROM api_key_usage
          WHERE key_id = ${keyId} AND created_at >= ${since} GROUP BY outcome`
    })

    return {
      /** One statement per batch whatever its size: one array parameter per column. */
      insertBatch: (rows: ReadonlyArray<UsageRow>) =>
        sql`
          INSERT INTO api_key_usage
            (key_id, user_id, route, method, status, latency_ms, ip, user_agent, outcome, tool, created_at)
          SELECT * FROM unnest(
            ${rows.map((r) => r.keyId)}::uuid[], ${rows.map((r) => r.userId)}::uuid[],
            ${rows.map((r) => r.route)}::text[], ${rows.map((r) => r.method)}::text[],
            ${rows.map((r) => r.status)}::int[], ${rows.map((r) => r.latencyMs)}::float8[],
            ${rows.map((r) => r.ip)}::inet[], ${rows.map((r) => r.userAgent)}::text[],
            ${rows.map((r) => r.outcome)}::text[], ${rows.map((r) => r.tool ?? null)}::text[],
            ${rows.map((r) => r.createdAt)}::timestamptz[]
          )`.pipe(Effect.asVoid, Effect.withSpan("UsageStore.insertBatch", { attributes: { rows: rows.length } })),
      outcomesSince: (keyId: ApiKeyId, since: Date) =>
        outcomes({ keyId, since }).pipe(
          Effect.map((rows) => Object.fromEntries(rows.map((row) => [row.outcome, row.n]))),
          Effect.orDie,
          Effect.withSpan("UsageStore.outcomesSince")
        )
    } as const
  })
}) {}
