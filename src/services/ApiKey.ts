import type { SqlError } from "@effect/sql/SqlError"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { BlockList, isIP } from "node:net"
import type { ApiKeyRecord, UsageOutcome } from "../domain/ApiKey.js"
import { Forbidden, QuotaExceeded, RateLimited, Unauthorized } from "../domain/ApiKey.js"
import { parseApiKey } from "../domain/ApiKeyFormat.js"
import { AppConfig } from "./AppConfig.js"
import type { Consumed, ConsumeRequest } from "./stores/ApiKeyStore.js"
import { ApiKeyStore } from "./stores/ApiKeyStore.js"

const WINDOW_SECONDS = 60
const MAX_CACHED = 10_000
// Key checks waiting together go to Postgres as one statement, from at most this many senders at a
// time: a lone request still goes at once, and under load N waiting requests cost one round trip
// and one commit instead of N. Bounded below the pool size so other queries always find a connection.
const CONSUME_SENDERS = 3
const MAX_CONSUME_BATCH = 256

interface PendingCheck {
  readonly request: ConsumeRequest
  readonly result: Deferred.Deferred<Consumed, SqlError>
}

export interface Admission {
  readonly key: ApiKeyRecord
  readonly limit: number
  readonly remaining: number
  readonly resetSeconds: number
  readonly monthlyRemaining: number
}

export type Refusal = Unauthorized | Forbidden | RateLimited | QuotaExceeded

export const outcomeOf = (refusal: Refusal): UsageOutcome => {
  switch (refusal._tag) {
    case "Unauthorized":
      return "unauthorized"
    case "Forbidden":
      return "forbidden"
    case "RateLimited":
      return "rate_limited"
    case "QuotaExceeded":
      return "quota_exceeded"
  }
}

interface CacheEntry {
  readonly key: Option.Option<ApiKeyRecord>
  readonly allowList: BlockList | null
  readonly expiresAt: number
}

/** An IPv4 client seen through a dual-stack socket arrives as `::ffff:a.b.c.d`. */
export const normalizeIp = (ip: string) => (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(ip) ? ip.slice(7) : ip)

const allowListOf = (cidrs: ReadonlyArray<string>) => {
  const list = new BlockList()
  for (const cidr of cidrs) {
    const [address, prefix] = cidr.split("/") as [string, string | undefined]
    const family = isIP(address) === 6 ? "ipv6" : "ipv4"
    list.addSubnet(address, prefix === undefined ? (family === "ipv6" ? 128 : 32) : Number(prefix), family)
  }
  return list
}

/** The UTC month of `ms`: its first day as `YYYY-MM-01`, and when the next one begins. */
const monthOf = (ms: number) => {
  const date = new Date(ms)
  const year = date.getUTCFullYear()
  const month = date.getUTCMonth()
  return { start: `${year}-${String(month + 1).padStart(2, "0")}-01`, nextStartMs: Date.UTC(year, month + 1, 1) }
}

/**
 * Authenticates a presented key: format and checksum first (no I/O), then the in-process cache or
 * the database, expiry, revocation, the IP allow-list, and one atomic round trip for the rate limit
 * and the monthly quota. Revocations and rotations from any process evict cached keys via NOTIFY.
 */
export class ApiKey extends Effect.Service<ApiKey>()("services/ApiKey", {
  scoped: Effect.gen(function*() {
    const store = yield* ApiKeyStore
    const config = yield* AppConfig
    const ttlMs = Duration.toMillis(config.apiKeyCacheTtl)
    const cache = new Map<string, CacheEntry>()

    const evict = (id: string) =>
      Effect.sync(() => {
        for (const [hash, entry] of cache) {
          if (Option.isSome(entry.key) && entry.key.value.id === id) cache.delete(hash)
        }
      })
    // A dropped LISTEN connection may have missed notifications: forget everything, then listen again.
    yield* store.changes.pipe(
      Stream.runForEach(evict),
      Effect.catchAllCause((cause) =>
        Effect.sync(() => cache.clear()).pipe(
          Effect.zipRight(Effect.logWarning("api key change listener stopped; cache cleared", Cause.squash(cause)))
        )
      ),
      Effect.repeat(Schedule.exponential("200 millis").pipe(Schedule.union(Schedule.spaced("5 seconds")))),
      Effect.annotateLogs({ service: "ApiKey" }),
      Effect.forkScoped
    )

    const checks = yield* Queue.unbounded<PendingCheck>()
    yield* Effect.addFinalizer(() => Queue.shutdown(checks))
    const sendChecks = Queue.takeBetween(checks, 1, MAX_CONSUME_BATCH).pipe(
      Effect.flatMap((taken) => {
        const batch = Chunk.toReadonlyArray(taken)
        return store.consumeBatch(batch.map((check) => check.request)).pipe(
          Effect.exit,
          Effect.flatMap((exit) =>
            Effect.forEach(batch, (check, i) => Deferred.done(check.result, Exit.map(exit, (results) => results[i]!)), {
              discard: true
            })
          )
        )
      }),
      Effect.forever
    )
    yield* Effect.forkScoped(Effect.all(Array.from({ length: CONSUME_SENDERS }, () => sendChecks), {
      concurrency: "unbounded",
      discard: true
    }))
    const consume = (request: ConsumeRequest) =>
      Effect.flatMap(
        Deferred.make<Consumed, SqlError>(),
        (result) => Queue.offer(checks, { request, result }).pipe(Effect.zipRight(Deferred.await(result)))
      )

    const lookup = (hash: string, nowMs: number) =>
      Effect.gen(function*() {
        const cached = cache.get(hash)
        if (cached !== undefined && cached.expiresAt > nowMs) return cached
        const key = yield* store.findByHash(hash)
        if (cache.size >= MAX_CACHED) cache.clear()
        const entry: CacheEntry = {
          key,
          allowList: Option.match(key, {
            onNone: () => null,
            onSome: (k) => (k.allowedIps === null ? null : allowListOf(k.allowedIps))
          }),
          expiresAt: nowMs + ttlMs
        }
        cache.set(hash, entry)
        return entry
      })

    const admit = (key: ApiKeyRecord, nowMs: number) =>
      Effect.gen(function*() {
        const month = monthOf(nowMs)
        const consumed = yield* consume({ keyId: key.id, limit: key.rateLimit, nowMs, month: month.start }).pipe(
          Effect.orDie
        )
        const quotaRetry = Math.ceil((month.nextStartMs - nowMs) / 1000)
        const secondsUntil = (ms: number | null) => ms === null ? WINDOW_SECONDS : Math.ceil((ms - nowMs) / 1000)
        if (consumed.quotaOk === null) return yield* new Unauthorized({ message: "invalid API key" })
        if (consumed.quotaOk === false) {
          return yield* new QuotaExceeded({ message: "monthly quota exhausted", retry_after_seconds: quotaRetry })
        }
        if (consumed.used === null) {
          return yield* new RateLimited({
            message: `rate limit of ${key.rateLimit} requests per minute exceeded`,
            retry_after_seconds: Math.max(1, secondsUntil(consumed.resetMs))
          })
        }
        const admission: Admission = {
          key,
          limit: key.rateLimit,
          remaining: Math.max(0, key.rateLimit - consumed.used),
          resetSeconds: Math.max(0, secondsUntil(consumed.resetMs)),
          monthlyRemaining: Math.max(0, (consumed.monthlyQuota ?? 0) - (consumed.monthlyUsage ?? 0))
        }
        return admission
      })

    /** The key identified (when it was) and what became of the request: admitted or refused. */
    const attempt = (presented: string | undefined, clientIp: string | undefined) =>
      Effect.gen(function*() {
        const refuse = (refusal: Refusal, key: Option.Option<ApiKeyRecord> = Option.none()) =>
          ({ key, result: Either.left<Refusal>(refusal) }) as const
        if (presented === undefined || presented === "") {
          return refuse(new Unauthorized({ message: "missing API key: send X-API-Key or Authorization: Bearer" }))
        }
        const hash = parseApiKey(presented)
        if (Option.isNone(hash)) return refuse(new Unauthorized({ message: "invalid API key" }))
        const nowMs = yield* Clock.currentTimeMillis
        const entry = yield* lookup(hash.value, nowMs)
        if (Option.isNone(entry.key)) return refuse(new Unauthorized({ message: "invalid API key" }))
        const key = entry.key.value
        if (key.revokedAt !== null) return refuse(new Unauthorized({ message: "API key revoked" }), entry.key)
        if (key.expiresAt !== null && key.expiresAt.getTime() <= nowMs) {
          return refuse(new Unauthorized({ message: "API key expired" }), entry.key)
        }
        if (entry.allowList !== null) {
          const ip = clientIp === undefined ? undefined : normalizeIp(clientIp)
          const family = ip === undefined ? 0 : isIP(ip)
          if (ip === undefined || family === 0 || !entry.allowList.check(ip, family === 6 ? "ipv6" : "ipv4")) {
            return refuse(new Forbidden({ message: "client IP is not in this key's allow-list" }), entry.key)
          }
        }
        return { key: entry.key, result: yield* Effect.either(admit(key, nowMs)) }
      }).pipe(Effect.withSpan("ApiKey.authenticate", { captureStackTrace: false }))

    return {
      attempt,
      authenticate: (presented: string | undefined, clientIp: string | undefined) =>
        Effect.flatMap(attempt(presented, clientIp), ({ result }) => result),
      /** Forgets every cached key (tests, and after a lost LISTEN connection). */
      clearCache: Effect.sync(() => cache.clear())
    } as const
  })
}) {}
