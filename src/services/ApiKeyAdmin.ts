import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type { ApiKeyId, ApiKeySummary, CreateApiKey, IssuedApiKey, UserId } from "../domain/ApiKey.js"
import { ALL_SCOPES, ApiKeyNotFound } from "../domain/ApiKey.js"
import { displayPrefix, generateApiKey, hashApiKey } from "../domain/ApiKeyFormat.js"
import { AppConfig } from "./AppConfig.js"
import type { SummaryRow } from "./stores/ApiKeyStore.js"
import { ApiKeyStore } from "./stores/ApiKeyStore.js"
import { UsageStore } from "./stores/UsageStore.js"
import { UserStore } from "./stores/UserStore.js"

const toDateTime = (date: Date | null) => (date === null ? null : DateTime.unsafeFromDate(date))

export const toSummary = (row: SummaryRow): ApiKeySummary => ({
  key_id: row.id,
  key_prefix: row.keyPrefix,
  user_id: row.userId,
  name: row.name,
  scopes: row.scopes,
  rate_limit: row.rateLimit,
  monthly_quota: row.monthlyQuota,
  monthly_usage: row.monthlyUsage,
  usage_period_start: row.usagePeriodStart,
  total_usage: row.totalUsage,
  allowed_ips: row.allowedIps,
  expires_at: toDateTime(row.expiresAt),
  revoked_at: toDateTime(row.revokedAt),
  last_used_at: toDateTime(row.lastUsedAt),
  created_at: DateTime.unsafeFromDate(row.createdAt)
})

const issued = (key: Redacted.Redacted<string>, row: SummaryRow): IssuedApiKey => ({
  api_key: Redacted.value(key),
  key_id: row.id,
  user_id: row.userId,
  created_at: DateTime.unsafeFromDate(row.createdAt),
  rate_limit: row.rateLimit,
  monthly_quota: row.monthlyQuota,
  scopes: row.scopes
})

/** Issuing, listing, revoking and rotating keys: the admin routes and the `keys` CLI. */
export class ApiKeyAdmin extends Effect.Service<ApiKeyAdmin>()("services/ApiKeyAdmin", {
  effect: Effect.gen(function*() {
    const keys = yield* ApiKeyStore
    const users = yield* UserStore
    const usage = yield* UsageStore
    const config = yield* AppConfig
    const notFound = (id: ApiKeyId) => new ApiKeyNotFound({ message: `no API key ${id}` })

    // The user is ensured on its own, not in a transaction with the key: it is idempotent, and a
    // concurrent creation of the same user is retried, which an aborted transaction would not allow.
    const create = (request: CreateApiKey) =>
      Effect.gen(function*() {
        const userId = yield* users.ensure(request.user_email, Option.fromNullable(request.user_id))
        const key = generateApiKey()
        const row = yield* keys.insert({
          userId,
          keyHash: hashApiKey(Redacted.value(key)),
          keyPrefix: displayPrefix(Redacted.value(key)),
          name: request.name ?? null,
          scopes: request.scopes ?? ALL_SCOPES,
          rateLimit: request.rate_limit ?? config.defaultRateLimit,
          monthlyQuota: request.monthly_quota ?? config.defaultMonthlyQuota,
          allowedIps: request.allowed_ips ?? null,
          expiresAt: request.expires_at === undefined ? null : DateTime.toDate(request.expires_at)
        })
        return issued(key, row)
      }).pipe(Effect.withSpan("ApiKeyAdmin.create"))

    const list = (userEmail: string) =>
      users.findByEmail(userEmail).pipe(
        Effect.flatMap(Option.match({
          onNone: () => Effect.succeed([]),
          onSome: (userId: UserId) => keys.listByUser(userId)
        })),
        Effect.map((rows) => rows.map(toSummary)),
        Effect.withSpan("ApiKeyAdmin.list")
      )

    const revoke = (id: ApiKeyId) =>
      keys.revoke(id).pipe(
        Effect.flatMap(
          Option.match({ onNone: () => Effect.fail(notFound(id)), onSome: (row) => Effect.succeed(toSummary(row)) })
        ),
        Effect.withSpan("ApiKeyAdmin.revoke")
      )

    /** A new secret for the same key id and limits; the old secret stops working everywhere at once. */
    const rotate = (id: ApiKeyId) =>
      Effect.gen(function*() {
        const key = generateApiKey()
        const row = yield* keys.rotate(id, hashApiKey(Redacted.value(key)), displayPrefix(Redacted.value(key)))
        if (Option.isNone(row)) return yield* notFound(id)
        return issued(key, row.value)
      }).pipe(Effect.withSpan("ApiKeyAdmin.rotate"))

    const report = (id: ApiKeyId) =>
      Effect.gen(function*() {
        const row = yield* keys.findSummary(id)
        if (Option.isNone(row)) return yield* notFound(id)
        const now = yield* Clock.currentTimeMillis
        const month = DateTime.formatIsoDateUtc(DateTime.startOf(DateTime.unsafeMake(now), "month"))
        const used = yield* keys.windowUsed(id, now)
        const summary = toSummary(row.value)
        const currentPeriod = row.value.usagePeriodStart >= month
        return {
          key: summary,
          rate_limit_remaining: Math.max(0, summary.rate_limit - used),
          monthly_remaining: Math.max(0, summary.monthly_quota - (currentPeriod ? summary.monthly_usage : 0)),
          outcomes_this_month: yield* usage.outcomesInMonth(id, month)
        }
      }).pipe(Effect.withSpan("ApiKeyAdmin.report"))

    return { create, list, revoke, rotate, report } as const
  })
}) {}
