import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Schema from "effect/Schema"
import { Cidr } from "./Cidr.js"
import { Text } from "./Text.js"

export const ApiKeyId = Schema.UUID.pipe(Schema.brand("ApiKeyId"))
export type ApiKeyId = typeof ApiKeyId.Type
export const ApiKeyIdFromPath = HttpApiSchema.param("id", ApiKeyId)

export const UserId = Schema.UUID.pipe(Schema.brand("UserId"))
export type UserId = typeof UserId.Type

/** `read`: search, listings, jobs; `write`: register, reindex, delete, rotate, cancel, retry (SPEC 11). */
export const ApiKeyScope = Schema.Literal("read", "write")
export type ApiKeyScope = typeof ApiKeyScope.Type
export const ALL_SCOPES: ReadonlyArray<ApiKeyScope> = ["read", "write"]

/** A key's scopes: at least one, each once. */
export const ApiKeyScopes = Schema.Array(ApiKeyScope).pipe(
  Schema.minItems(1),
  Schema.filter((scopes) => new Set(scopes).size === scopes.length || "scopes must not repeat")
)

/** A key as the auth path needs it; cached in memory for `API_KEY_CACHE_TTL`. */
export interface ApiKeyRecord {
  readonly id: ApiKeyId
  readonly userId: UserId
  readonly scopes: ReadonlyArray<ApiKeyScope>
  readonly rateLimit: number
  readonly monthlyQuota: number
  readonly allowedIps: ReadonlyArray<string> | null
  readonly expiresAt: Date | null
  readonly revokedAt: Date | null
}

/** The key of the current request, provided to handlers by the `Authentication` middleware. */
export class CurrentApiKey extends Context.Tag("domain/CurrentApiKey")<CurrentApiKey, {
  readonly id: ApiKeyId
  readonly userId: UserId
  readonly scopes: ReadonlyArray<ApiKeyScope>
}>() {}

export const UsageOutcome = Schema.Literal("ok", "unauthorized", "forbidden", "rate_limited", "quota_exceeded")
export type UsageOutcome = typeof UsageOutcome.Type

export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 401 })) {}

export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 403 })) {}

/**
 * The one scope rule: the auth middleware applies it to every route (by its `RequiredScope`
 * annotation) and the MCP tool registry to every tool (by its declared scope).
 */
export const scopeRefusal = (granted: ReadonlyArray<ApiKeyScope>, required: ApiKeyScope): Forbidden | undefined =>
  granted.includes(required) ? undefined : new Forbidden({ message: `this API key lacks the "${required}" scope` })

export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  message: Schema.String,
  retry_after_seconds: Schema.Int
}, HttpApiSchema.annotations({ status: 429 })) {}

export class QuotaExceeded extends Schema.TaggedError<QuotaExceeded>()("QuotaExceeded", {
  message: Schema.String,
  retry_after_seconds: Schema.Int
}, HttpApiSchema.annotations({ status: 429 })) {}

export class ApiKeyNotFound extends Schema.TaggedError<ApiKeyNotFound>()("ApiKeyNotFound", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 404 })) {}

export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 400 })) {}

// Postgres' timestamptz starts in 4713 BC, which an ISO date can go past.
const ExpiresAt = Schema.DateTimeUtc.pipe(Schema.filter((date) => {
  const year = DateTime.getPartUtc(date, "year")
  return year >= 1 && year <= 9999 ? undefined : "must be between the years 1 and 9999"
}))

export const CreateApiKey = Schema.Struct({
  user_email: Text.pipe(Schema.maxLength(320), Schema.pattern(/^[^\s@]+@[^\s@]+$/)),
  user_id: Schema.optional(UserId),
  name: Schema.optional(Text.pipe(Schema.maxLength(200))),
  rate_limit: Schema.optional(Schema.Int.pipe(Schema.between(1, 100_000))),
  monthly_quota: Schema.optional(Schema.Int.pipe(Schema.between(0, Number.MAX_SAFE_INTEGER))),
  allowed_ips: Schema.optional(Schema.Array(Cidr).pipe(Schema.minItems(1), Schema.maxItems(100))),
  expires_at: Schema.optional(ExpiresAt),
  /** Default: both. */
  scopes: Schema.optional(ApiKeyScopes)
})
export type CreateApiKey = typeof CreateApiKey.Type

/** Returned once, at creation or rotation: the only time the plaintext key is shown. */
export const IssuedApiKey = Schema.Struct({
  api_key: Schema.String,
  key_id: ApiKeyId,
  user_id: UserId,
  created_at: Schema.DateTimeUtc,
  rate_limit: Schema.Int,
  monthly_quota: Schema.Int,
  scopes: Schema.Array(ApiKeyScope)
})
export type IssuedApiKey = typeof IssuedApiKey.Type

export const ApiKeySummary = Schema.Struct({
  key_id: ApiKeyId,
  key_prefix: Schema.String,
  user_id: UserId,
  name: Schema.NullOr(Schema.String),
  scopes: Schema.Array(ApiKeyScope),
  rate_limit: Schema.Int,
  monthly_quota: Schema.Int,
  monthly_usage: Schema.Int,
  usage_period_start: Schema.String,
  total_usage: Schema.Int,
  allowed_ips: Schema.NullOr(Schema.Array(Schema.String)),
  expires_at: Schema.NullOr(Schema.DateTimeUtc),
  revoked_at: Schema.NullOr(Schema.DateTimeUtc),
  last_used_at: Schema.NullOr(Schema.DateTimeUtc),
  created_at: Schema.DateTimeUtc
})
export type ApiKeySummary = typeof ApiKeySummary.Type

export const UsageReport = Schema.Struct({
  key: ApiKeySummary,
  rate_limit_remaining: Schema.Int,
  monthly_remaining: Schema.Int,
  outcomes_this_month: Schema.Record({ key: Schema.String, value: Schema.Int })
})
