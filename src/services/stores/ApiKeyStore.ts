import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { ApiKeyId, ApiKeyScope, UserId } from "../../domain/ApiKey.js"
import { listen } from "./Listen.js"

export const API_KEY_CHANGES = "api_key_changes"

const KeyRow = Schema.Struct({
  id: ApiKeyId,
  userId: UserId,
  scopes: Schema.Array(ApiKeyScope),
  rateLimit: Schema.Int,
  monthlyQuota: Schema.Number,
  allowedIps: Schema.NullOr(Schema.Array(Schema.String)),
  expiresAt: Schema.NullOr(Schema.DateFromSelf),
  revokedAt: Schema.NullOr(Schema.DateFromSelf)
})

export const SummaryRow = Schema.Struct({
  id: ApiKeyId,
  keyPrefix: Schema.String,
  userId: UserId,
  name: Schema.NullOr(Schema.String),
  scopes: Schema.Array(ApiKeyScope),
  rateLimit: Schema.Int,
  monthlyQuota: Schema.Number,
  monthlyUsage: Schema.Number,
  usagePeriodStart: Schema.String,
  totalUsage: Schema.Number,
  allowedIps: Schema.NullOr(Schema.Array(Schema.String)),
  expiresAt: Schema.NullOr(Schema.DateFromSelf),
  revokedAt: Schema.NullOr(Schema.DateFromSelf),
  lastUsedAt: Schema.NullOr(Schema.DateFromSelf),
  createdAt: Schema.DateFromSelf
})
export type SummaryRow = typeof SummaryRow.Type

interface ConsumedRow {
  readonly quotaOk: boolean | null
  readonly used: number | null
  readonly resetMs: string | null
  readonly monthlyUsage: number | null
  readonly monthlyQuota: number | null
}

/**
 * One request's key check. `quotaOk` null: the key no longer exists; false: the monthly quota is used
 * up. `used` null: refused by the rate limit, and `resetMs` is when it next admits one; otherwise the
 * requests now counted in the window, and `resetMs` is when that count next falls. Nothing is counted
 * for a refused request.
 */
export interface Consumed {
  readonly quotaOk: boolean | null
  readonly used: number | null
  readonly resetMs: number | null
  readonly monthlyUsage: number | null
  readonly monthlyQuota: number | null
}

export interface ConsumeRequest {
  readonly keyId: ApiKeyId
  readonly limit: number
  readonly nowMs: number
  /** First day of the current UTC month, `YYYY-MM-01`. */
  readonly month: string
}

const toConsumed = (row: ConsumedRow | undefined): Consumed => ({
  quotaOk: row?.quotaOk ?? null,
  used: row?.used ?? null,
  resetMs: row?.resetMs == null ? null : Number(row.resetMs),
  monthlyUsage: row?.monthlyUsage ?? null,
  monthlyQuota: row?.monthlyQuota ?? null
})

const NewKey = Schema.Struct({
  userId: UserId,
  keyHash: Schema.String,
  keyPrefix: Schema.String,
  name: Schema.NullOr(Schema.String),
  scopes: Schema.Array(ApiKeyScope),
  rateLimit: Schema.Int,
  monthlyQuota: Schema.Number,
  allowedIps: Schema.NullOr(Schema.Array(Schema.String)),
  expiresAt: Schema.NullOr(Schema.DateFromSelf)
})

/** Owns `api_keys` and `api_key_rate_limits`. */
export class ApiKeyStore extends Effect.Service<ApiKeyStore>()("services/stores/ApiKeyStore", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const pg = yield* PgClient.PgClient
    const summaryColumns = sql.literal(`
      id, key_prefix, user_id, name, scopes, rate_limit, monthly_quota::float8 AS monthly_quota,
      monthly_usage::float8 AS monthly_usage, usage_period_start::text AS usage_period_start,
      total_usage::float8 AS total_usage, allowed_ips::text[] AS allowed_ips, expires_at, revoked_at,
      last_used_at, created_at`)

    const findByHash = SqlSchema.findOne({
      Request: Schema.String,
      Result: KeyRow,
      execute: (hash) =>
        sql`
          SELECT id, user_id, scopes, rate_limit, monthly_quota::float8 AS monthly_quota,
                 allowed_ips::text[] AS allowed_ips, expires_at, revoked_at
          FROM api_keys WHERE key_hash = ${hash}`
    })

    /**
     * The whole per-request key check, atomic under concurrency, for many requests in one statement
     * (migration 0017): the quota (reset when a new UTC month has begun), then the rate limit's ring of
     * per-second counters, whose row lock serialises the requests of one key across every process, and
     * the usage counters, each written once per key and batch. Results come back in request order. No
     * schema decoding: this is the hot path, and the function's result columns fix the row's types.
     */
    const consumeBatch = (requests: ReadonlyArray<ConsumeRequest>) =>
      sql<ConsumedRow & { readonly ord: number }>`
        SELECT * FROM api_key_admit_batch(
          ${requests.map((r) => r.keyId)}::uuid[], ${requests.map((r) => r.limit)}::int[],
          ${requests.map((r) => r.nowMs)}::bigint[], ${requests.map((r) => r.month)}::date[])`.pipe(
        Effect.map((rows) => {
          const results = new Array<Consumed>(requests.length)
          for (const row of rows) results[row.ord - 1] = toConsumed(row)
          return results
        })
      )

    const windowUsed = SqlSchema.single({
      Request: Schema.Struct({ keyId: ApiKeyId, nowMs: Schema.Number }),
      Result: Schema.Struct({ used: Schema.Int }),
      execute: ({ keyId, nowMs }) => sql`SELECT api_key_window_used(${keyId}, ${nowMs}::bigint) AS used`
    })

    const insert = SqlSchema.single({
      Request: NewKey,
      Result: SummaryRow,
      execute: (key) =>
        sql`
          INSERT INTO api_keys (user_id, key_hash, key_prefix, name, rate_limit, monthly_quota, allowed_ips, expires_at,
                                scopes)
          VALUES (${key.userId}, ${key.keyHash}, ${key.keyPrefix}, ${key.name}, ${key.rateLimit}, ${key.monthlyQuota},
                  ${key.allowedIps === null ? null : sql`${key.allowedIps}::cidr[]`}, ${key.expiresAt},
                  ${key.scopes}::text[])
          RETURNING ${summaryColumns}`
    })

    const listByUser = SqlSchema.findAll({
      Request: UserId,
      Result: SummaryRow,
      execute: (userId) => sql`SELECT ${summaryColumns} FROM api_keys WHERE user_id = ${userId} ORDER BY created_at, id`
    })

    const findSummary = SqlSchema.findOne({
      Request: ApiKeyId,
      Result: SummaryRow,
      execute: (id) => sql`SELECT ${summaryColumns} FROM api_keys WHERE id = ${id}`
    })

    // Each change wakes every process's cache (LISTEN api_key_changes) when the transaction commits.
    const notifyChange = (id: string) => sql`SELECT pg_notify(${API_KEY_CHANGES}, ${id})`

    const revoke = SqlSchema.findOne({
      Request: ApiKeyId,
      Result: SummaryRow,
      execute: (id) =>
        sql`
          UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()), updated_at = now()
          WHERE id = ${id} RETURNING ${summaryColumns}`.pipe(Effect.tap(() => notifyChange(id)))
    })

    const rotate = SqlSchema.findOne({
      Request: Schema.Struct({ id: ApiKeyId, keyHash: Schema.String, keyPrefix: Schema.String }),
      Result: SummaryRow,
      execute: ({ id, keyHash, keyPrefix }) =>
        sql`
          UPDATE api_keys SET key_hash = ${keyHash}, key_prefix = ${keyPrefix}, updated_at = now()
          WHERE id = ${id} AND revoked_at IS NULL RETURNING ${summaryColumns}`.pipe(Effect.tap(() => notifyChange(id)))
    })

    // This process's own revocations and rotations, told at once: the NOTIFY comes back through LISTEN a
    // round trip later, and a request with the old secret in between would still pass its cached check.
    const changedHere = new Set<(id: ApiKeyId) => void>()
    const changed = (id: ApiKeyId) => Effect.sync(() => changedHere.forEach((f) => f(id)))

    return {
      /** Ids of keys revoked or rotated by any process, as their transactions commit. */
      changes: listen(pg, API_KEY_CHANGES).pipe(Stream.map((id) => id as ApiKeyId)),
      /**
       * Calls `f`, for as long as the scope lasts, with the id of each key this process revokes or rotates,
       * once the change is committed and before the call that made it returns.
       */
      onChangeHere: (f: (id: ApiKeyId) => void) =>
        Effect.acquireRelease(Effect.sync(() => changedHere.add(f)), () => Effect.sync(() => changedHere.delete(f))),
      findByHash: (hash: string) => findByHash(hash).pipe(Effect.orDie, Effect.withSpan("ApiKeyStore.findByHash")),
      consumeBatch: (requests: ReadonlyArray<ConsumeRequest>) =>
        consumeBatch(requests).pipe(
          Effect.withSpan("ApiKeyStore.consumeBatch", {
            attributes: { "kotadb.batch_size": requests.length },
            captureStackTrace: false
          })
        ),
      /** The requests counted in the key's rate-limit window at `nowMs`, counting nothing. */
      windowUsed: (keyId: ApiKeyId, nowMs: number) =>
        windowUsed({ keyId, nowMs }).pipe(
          Effect.map((row) => row.used),
          Effect.orDie,
          Effect.withSpan("ApiKeyStore.windowUsed")
        ),
      insert: (key: typeof NewKey.Type) => insert(key).pipe(Effect.orDie, Effect.withSpan("ApiKeyStore.insert")),
      listByUser: (userId: UserId) => listByUser(userId).pipe(Effect.orDie, Effect.withSpan("ApiKeyStore.listByUser")),
      findSummary: (id: ApiKeyId) => findSummary(id).pipe(Effect.orDie, Effect.withSpan("ApiKeyStore.findSummary")),
      revoke: (id: ApiKeyId) =>
        sql.withTransaction(revoke(id)).pipe(
          Effect.tap(() => changed(id)),
          Effect.orDie,
          Effect.withSpan("ApiKeyStore.revoke")
        ),
      rotate: (id: ApiKeyId, keyHash: string, keyPrefix: string) =>
        sql.withTransaction(rotate({ id, keyHash, keyPrefix })).pipe(
          Effect.tap(() => changed(id)),
          Effect.orDie,
          Effect.withSpan("ApiKeyStore.rotate")
        )
    } as const
  })
}) {}
