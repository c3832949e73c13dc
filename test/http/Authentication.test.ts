import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { DateTime, Effect, Layer, Redacted } from "effect"
import { generateApiKey } from "../../src/domain/ApiKeyFormat.js"
import { createKey, get, withKey } from "../utils/keys.js"
import { SqlCounter, SqlCounterLive } from "../utils/SqlCounter.js"
import { testApp } from "../utils/TestApp.js"

// No periodic audit flush: every statement the counter sees is then caused by the request at hand.
const app = (env: Record<string, string> = {}) =>
  testApp({ USAGE_FLUSH_INTERVAL: "1 hour", ...env }).pipe(Layer.provideMerge(SqlCounterLive))

const expectRefusal = (
  response: { status: number; json: Effect.Effect<unknown, unknown> },
  status: number,
  tag: string
) =>
  Effect.gen(function*() {
    expect(response.status).toBe(status)
    expect(yield* response.json).toMatchObject({ _tag: tag, message: expect.any(String) })
  })

layer(app(), { timeout: "60 seconds", excludeTestServices: true })("API key authentication", (it) => {
  it.effect("admits a valid key with either header and sets the rate-limit headers", () =>
    Effect.gen(function*() {
      const key = yield* createKey({ rate_limit: 10, monthly_quota: 100 })
      const viaHeader = yield* get("/api/v1/me", withKey(key.api_key))
      expect(viaHeader.status).toBe(200)
      expect(yield* viaHeader.json).toEqual({ key_id: key.key_id, user_id: key.user_id, scopes: ["read", "write"] })
      expect(viaHeader.headers["ratelimit-policy"]).toBe("\"default\";q=10;w=60")
      // Counted in whole seconds: this request leaves the count at the start of the 61st second after its own.
      expect(viaHeader.headers["ratelimit"]).toMatch(/^"default";r=9;t=(59|60|61)$/)
      expect(viaHeader.headers["x-ratelimit-limit"]).toBe("10")
      expect(viaHeader.headers["x-ratelimit-remaining-quota"]).toBe("99")

      const viaBearer = yield* get("/api/v1/me", { authorization: `Bearer ${key.api_key}` })
      expect(viaBearer.status).toBe(200)
      expect(viaBearer.headers["ratelimit"]).toMatch(/^"default";r=8;/)
    }))

  it.effect("401 for a missing key, a non-Bearer Authorization, a malformed or unknown key", () =>
    Effect.gen(function*() {
      yield* expectRefusal(yield* get("/api/v1/me"), 401, "Unauthorized")
      const key = yield* createKey()
      yield* expectRefusal(yield* get("/api/v1/me", { authorization: `Basic ${key.api_key}` }), 401, "Unauthorized")
      yield* expectRefusal(yield* get("/api/v1/me", { authorization: key.api_key }), 401, "Unauthorized")
      yield* expectRefusal(yield* get("/api/v1/me", withKey("kdb_live_not-a-key")), 401, "Unauthorized")
      yield* expectRefusal(yield* get("/api/v1/me", withKey(Redacted.value(generateApiKey()))), 401, "Unauthorized")
    }))

  it.effect("a key with a bad checksum is refused without a single SQL statement", () =>
    Effect.gen(function*() {
      const key = yield* createKey()
      const last = key.api_key.at(-1) === "a" ? "b" : "a"
      const tampered = key.api_key.slice(0, -1) + last
      const counter = yield* SqlCounter
      const before = counter.count()
      yield* expectRefusal(yield* get("/api/v1/me", withKey(tampered)), 401, "Unauthorized")
      expect(counter.count()).toBe(before)
      // The counter does see statements: the valid key costs one.
      yield* get("/api/v1/me", withKey(key.api_key))
      expect(counter.count()).toBeGreaterThan(before)
    }))

  it.effect("401 for expired and revoked keys", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const expired = yield* createKey({ expires_at: DateTime.unsafeMake("2020-01-01T00:00:00Z") })
      const response = yield* get("/api/v1/me", withKey(expired.api_key))
      expect(response.status).toBe(401)
      expect(yield* response.json).toEqual({ _tag: "Unauthorized", message: "API key expired" })

      const revoked = yield* createKey()
      yield* sql`UPDATE api_keys SET revoked_at = now() WHERE id = ${revoked.key_id}`
      const refused = yield* get("/api/v1/me", withKey(revoked.api_key))
      expect(yield* refused.json).toEqual({ _tag: "Unauthorized", message: "API key revoked" })
    }))

  it.effect("403 when the socket address is outside the key's CIDR allow-list", () =>
    Effect.gen(function*() {
      const elsewhere = yield* createKey({ allowed_ips: ["10.0.0.0/8", "2001:db8::/32"] })
      yield* expectRefusal(yield* get("/api/v1/me", withKey(elsewhere.api_key)), 403, "Forbidden")
      // Without TRUST_PROXY=fly the header is the client's word, and it is ignored.
      const spoofed = yield* get("/api/v1/me", { ...withKey(elsewhere.api_key), "fly-client-ip": "10.1.2.3" })
      expect(spoofed.status).toBe(403)
      const loopback = yield* createKey({ allowed_ips: ["127.0.0.0/8", "::1/128"] })
      expect((yield* get("/api/v1/me", withKey(loopback.api_key))).status).toBe(200)
    }))

  it.effect("429 with Retry-After once the per-minute limit is used up", () =>
    Effect.gen(function*() {
      const key = yield* createKey({ rate_limit: 2 })
      expect((yield* get("/api/v1/me", withKey(key.api_key))).status).toBe(200)
      expect((yield* get("/api/v1/me", withKey(key.api_key))).status).toBe(200)
      const limited = yield* get("/api/v1/me", withKey(key.api_key))
      yield* expectRefusal(limited, 429, "RateLimited")
      const retryAfter = Number(limited.headers["retry-after"])
      expect(retryAfter).toBeGreaterThanOrEqual(59)
      expect(retryAfter).toBeLessThanOrEqual(61)
      expect(limited.headers["ratelimit"]).toBe(`"default";r=0;t=${retryAfter}`)
    }))

  it.effect("429 QuotaExceeded with Retry-After at the next month once the monthly quota is used", () =>
    Effect.gen(function*() {
      const key = yield* createKey({ monthly_quota: 1 })
      expect((yield* get("/api/v1/me", withKey(key.api_key))).status).toBe(200)
      const exhausted = yield* get("/api/v1/me", withKey(key.api_key))
      yield* expectRefusal(exhausted, 429, "QuotaExceeded")
      const now = DateTime.unsafeNow()
      const nextMonth = DateTime.startOf(DateTime.add(DateTime.startOf(now, "month"), { months: 1 }), "month")
      const expected = Math.ceil(DateTime.distance(now, nextMonth) / 1000)
      expect(Math.abs(Number(exhausted.headers["retry-after"]) - expected)).toBeLessThanOrEqual(5)
    }))
})

layer(app({ TRUST_PROXY: "fly" }), { timeout: "60 seconds", excludeTestServices: true })("behind Fly's proxy", (it) => {
  it.effect("the client IP comes from Fly-Client-IP, IPv6 included", () =>
    Effect.gen(function*() {
      const key = yield* createKey({ allowed_ips: ["2001:db8::/32"] })
      expect((yield* get("/api/v1/me", { ...withKey(key.api_key), "fly-client-ip": "2001:db8::5" })).status).toBe(200)
      expect((yield* get("/api/v1/me", { ...withKey(key.api_key), "fly-client-ip": "2001:db9::5" })).status).toBe(403)
      expect((yield* get("/api/v1/me", withKey(key.api_key))).status).toBe(403)
    }))
})
