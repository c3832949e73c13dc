import type { SqlError } from "@effect/sql/SqlError"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Option from "effect/Option"
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
  readonly resume: (result: Effect.Effect<Consumed, SqlError>) => void
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

interface Month {
  /** Its first day, `YYYY-MM-01`. */
  readonly start: string
  readonly startMs: number
  readonly nextStartMs: number
}

/** The UTC month of `ms`. */
const monthOf = (ms: number): Month => {
  const date = new Date(ms)
  const year = date.getUTCFullYear()
  const month = date.getUTCMonth()
  return {
    start: `${year}-${String(month + 1).padStart(2, "0")}-01`,
    startMs: Date.UTC(year, month, 1),
    nextStartMs: Date.UTC(year, month + 1, 1)
  }
}

/**
 * Authenticates a presented key: format and checksum first (no I/O), then the in-process cache or
 * the database, expiry, revocation, the IP allow-list, and one atomic round trip for the rate limit
 * and the monthly quota. Revocations and rotations evict cached keys: this process's own at once, any
 * process's via NOTIFY.
 */
export class ApiKey extends Effect.Service<ApiKey>()("services/ApiKey", {
  scoped: Effect.gen(function*() {
    const store = yield* ApiKeyStore
    const config = yield* AppConfig
    const ttlMs = Duration.toMillis(config.apiKeyCacheTtl)
    const cache = new Map<string, CacheEntry>()

    const forget = (id: string) => {
      for (const [hash, entry] of cache) {
        if (Option.isSome(entry.key) && entry.key.value.id === id) cache.delete(hash)
      }
    }
    const evict = (id: string) => Effect.sync(() => forget(id))
    yield* store.onChangeHere(forget)
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

    // Plain callbacks rather than a queue and a deferred per request: every request passes here.
    const run = yield* FiberSet.makeRuntime<never, ReadonlyArray<Consumed>, SqlError>()
    const waiting: Array<PendingCheck> = []
    let sending = 0
    let scheduled = false
    const sendWaiting = () => {
      scheduled = false
      while (waiting.length > 0 && sending < CONSUME_SENDERS) {
        const batch = waiting.splice(0, MAX_CONSUME_BATCH)
        sending++
        run(store.consumeBatch(batch.map((check) => check.request))).addObserver((exit) => {
          sending--
          if (Exit.isSuccess(exit)) {
            for (let i = 0; i < batch.length; i++) batch[i]!.resume(Exit.succeed(exit.value[i]!))
          } else {
            const failed = Exit.failCause(exit.cause)
            for (const check of batch) check.resume(failed)
          }
          if (waiting.length > 0) sendWaiting()
        })
      }
    }
    // Sent once the event loop has read every request that arrived with this one, so that they share
    // the statement.
    const consume = (request: ConsumeRequest) =>
      Effect.async<Consumed, SqlError>((resume) => {
        waiting.push({ request, resume })
        if (!scheduled && sending < CONSUME_SENDERS) {
          scheduled = true
          setImmediate(sendWaiting)
        }
      })

    const entryOf = (hash: string, key: Option.Option<ApiKeyRecord>, nowMs: number) => {
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
    }
    const lookup = (hash: string, nowMs: number): Effect.Effect<CacheEntry> => {
      const cached = cache.get(hash)
      if (cached !== undefined && cached.expiresAt > nowMs) return Effect.succeed(cached)
      return Effect.map(store.findByHash(hash), (key) => entryOf(hash, key, nowMs))
    }

    // Every request needs its month: the last one is kept rather than recomputed.
    let lastMonth = monthOf(0)
    const monthAt = (ms: number) => {
      if (ms < lastMonth.startMs || ms >= lastMonth.nextStartMs) lastMonth = monthOf(ms)
      return lastMonth
    }

    const admitted = (key: ApiKeyRecord, nowMs: number, consumed: Consumed): Either.Either<Admission, Refusal> => {
      const secondsUntil = (ms: number | null) => ms === null ? WINDOW_SECONDS : Math.ceil((ms - nowMs) / 1000)
      if (consumed.quotaOk === null) return Either.left(new Unauthorized({ message: "invalid API key" }))
      if (consumed.quotaOk === false) {
        const quotaRetry = Math.ceil((monthAt(nowMs).nextStartMs - nowMs) / 1000)
        return Either.left(
          new QuotaExceeded({ message: "monthly quota exhausted", retry_after_seconds: quotaRetry })
        )
      }
      if (consumed.used === null) {
        return Either.left(
          new RateLimited({
            message: `rate limit of ${key.rateLimit} requests per minute exceeded`,
            retry_after_seconds: Math.max(1, secondsUntil(consumed.resetMs))
          })
        )
      }
      return Either.right({
        key,
        limit: key.rateLimit,
        remaining: Math.max(0, key.rateLimit - consumed.used),
        resetSeconds: Math.max(0, secondsUntil(consumed.resetMs)),
        monthlyRemaining: Math.max(0, (consumed.monthlyQuota ?? 0) - (consumed.monthlyUsage ?? 0))
      })
    }

    const admit = (key: ApiKeyRecord, nowMs: number) =>
      Effect.map(
        Effect.orDie(consume({ keyId: key.id, limit: key.rateLimit, nowMs, month: monthAt(nowMs).start })),
        (consumed) => admitted(key, nowMs, consumed)
      )

    type Attempt = { readonly key: Option.Option<ApiKeyRecord>; readonly result: Either.Either<Admission, Refusal> }
    const refuse = (refusal: Refusal, key: Option.Option<ApiKeyRecord> = Option.none()): Attempt => ({
      key,
      result: Either.left<Refusal>(refusal)
    })

    const checkEntry = (entry: CacheEntry, clientIp: string | undefined, nowMs: number): Effect.Effect<Attempt> => {
      if (Option.isNone(entry.key)) return Effect.succeed(refuse(new Unauthorized({ message: "invalid API key" })))
      const key = entry.key.value
      if (key.revokedAt !== null) {
        return Effect.succeed(refuse(new Unauthorized({ message: "API key revoked" }), entry.key))
      }
      if (key.expiresAt !== null && key.expiresAt.getTime() <= nowMs) {
        return Effect.succeed(refuse(new Unauthorized({ message: "API key expired" }), entry.key))
      }
      if (entry.allowList !== null) {
        const ip = clientIp === undefined ? undefined : normalizeIp(clientIp)
        const family = ip === undefined ? 0 : isIP(ip)
        if (ip === undefined || family === 0 || !entry.allowList.check(ip, family === 6 ? "ipv6" : "ipv4")) {
          return Effect.succeed(
            refuse(new Forbidden({ message: "client IP is not in this key's allow-list" }), entry.key)
          )
        }
      }
      return Effect.map(admit(key, nowMs), (result): Attempt => ({ key: entry.key, result }))
    }

    /** The key identified (when it was) and what became of the request: admitted or refused. */
    const attempt = (presented: string | undefined, clientIp: string | undefined): Effect.Effect<Attempt> =>
      Effect.suspend((): Effect.Effect<Attempt> => {
        if (presented === undefined || presented === "") {
          return Effect.succeed(
            refuse(new Unauthorized({ message: "missing API key: send X-API-Key or Authorization: Bearer" }))
          )
        }
        const hash = parseApiKey(presented)
        if (Option.isNone(hash)) return Effect.succeed(refuse(new Unauthorized({ message: "invalid API key" })))
        return Effect.flatMap(
          Clock.currentTimeMillis,
          (nowMs) => Effect.flatMap(lookup(hash.value, nowMs), (entry) => checkEntry(entry, clientIp, nowMs))
        )
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
