import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
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

/** Owns `api_key_usage`, the audit log of every authenticated-route request, and its monthly counters. */
export class UsageStore extends Effect.Service<UsageStore>()("services/stores/UsageStore", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const outcomes = SqlSchema.findAll({
      Request: Schema.Struct({ keyId: Schema.String, month: Schema.String }),
      Result: Schema.Struct({ outcome: Schema.String, n: Schema.Int }),
      execute: ({ keyId, month }) =>
        sql`
          SELECT outcome, requests::int AS n FROM api_key_usage_monthly
          WHERE key_id = ${keyId} AND month = ${month}::date`
    })

    return {
      /**
       * One statement per batch whatever its size: one array parameter per column. The same statement
       * adds the batch to the per-key, per-month (UTC), per-outcome counters, so they are exactly the
       * audit rows ever written. Counters are upserted in key order, so concurrent flushes from several
       * processes cannot deadlock.
       */
      insertBatch: (rows: ReadonlyArray<UsageRow>) =>
        sql`
          WITH batch AS (
            SELECT * FROM unnest(
              ${rows.map((r) => r.keyId)}::uuid[], ${rows.map((r) => r.userId)}::uuid[],
              ${rows.map((r) => r.route)}::text[], ${rows.map((r) => r.method)}::text[],
              ${rows.map((r) => r.status)}::int[], ${rows.map((r) => r.latencyMs)}::float8[],
              ${rows.map((r) => r.ip)}::inet[], ${rows.map((r) => r.userAgent)}::text[],
              ${rows.map((r) => r.outcome)}::text[], ${rows.map((r) => r.tool ?? null)}::text[],
              ${rows.map((r) => r.createdAt)}::timestamptz[]
            ) AS t(key_id, user_id, route, method, status, latency_ms, ip, user_agent, outcome, tool, created_at)
          ), audit AS (
            INSERT INTO api_key_usage
              (key_id, user_id, route, method, status, latency_ms, ip, user_agent, outcome, tool, created_at)
            SELECT * FROM batch
          )
          INSERT INTO api_key_usage_monthly AS c (key_id, month, outcome, requests)
          SELECT key_id, date_trunc('month', created_at AT TIME ZONE 'UTC')::date, outcome, count(*)
          FROM batch WHERE key_id IS NOT NULL
          GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
          ON CONFLICT (key_id, month, outcome) DO UPDATE SET requests = c.requests + excluded.requests`.pipe(
          Effect.asVoid,
          Effect.withSpan("UsageStore.insertBatch", { attributes: { rows: rows.length } })
        ),
      /** The key's requests in the UTC month beginning `month` (`YYYY-MM-01`), by outcome: counters only. */
      outcomesInMonth: (keyId: ApiKeyId, month: string) =>
        outcomes({ keyId, month }).pipe(
          Effect.map((rows) => Object.fromEntries(rows.map((row) => [row.outcome, row.n]))),
          Effect.orDie,
          Effect.withSpan("UsageStore.outcomesInMonth")
        ),
      /**
       * One retention batch: the next `limit` audit rows by id after `after`, of which those written
       * before `cutoff` are deleted. Ids follow time (bar the rows of one flush), so the caller stops at
       * the first batch with nothing expired. The counters stay.
       */
      deleteExpired: (cutoff: Date, after: string, limit: number) =>
        sql<{ last: string | null; scanned: number; expired: number; deleted: number }>`
          WITH scanned AS (
            SELECT id, created_at < ${cutoff} AS expired FROM api_key_usage
            WHERE id > ${after}::bigint ORDER BY id LIMIT ${limit}
          ), gone AS (
            DELETE FROM api_key_usage u USING scanned s WHERE u.id = s.id AND s.expired RETURNING 1
          )
          SELECT (SELECT max(id)::text FROM scanned) AS last, (SELECT count(*)::int FROM scanned) AS scanned,
                 (SELECT count(*)::int FROM scanned WHERE expired) AS expired,
                 (SELECT count(*)::int FROM gone) AS deleted`.pipe(
          Effect.map((rows) => rows[0]!),
          Effect.orDie,
          Effect.withSpan("UsageStore.deleteExpired")
        )
    } as const
  })
}) {}
