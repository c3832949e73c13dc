import { HttpClient, HttpClientRequest } from "@effect/platform"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { get, withKey } from "../utils/keys.js"
import { testApp } from "../utils/TestApp.js"

const INTERNAL = "internal-key-for-tests-0123456789"

const post = (path: string, body: unknown, headers: Record<string, string> = { "x-internal-key": INTERNAL }) =>
  Effect.flatMap(HttpClient.HttpClient, (client) =>
    client.execute(
      HttpClientRequest.post(path).pipe(HttpClientRequest.setHeaders(headers), HttpClientRequest.bodyUnsafeJson(body))
    ))

layer(testApp(), { timeout: "60 seconds", excludeTestServices: true })(
  "admin routes without INTERNAL_API_KEY",
  (it) => {
    it.effect("answer 404 like any unknown route, whatever the header", () =>
      Effect.gen(function*() {
        for (const headers of [{}, { "x-internal-key": INTERNAL }]) {
          const response = yield* post("/internal/api-keys", { user_email: "a@example.test" }, headers)
          expect(response.status).toBe(404)
          expect(yield* response.json).toEqual({
            _tag: "RouteNotFound",
            message: "no route for POST /internal/api-keys"
          })
        }
        expect((yield* post("/internal/create-api-key", { user_email: "a@example.test" })).status).toBe(404)
        expect((yield* get("/internal/api-keys?user_email=a@example.test")).status).toBe(404)
      }))
  }
)

layer(testApp({ INTERNAL_API_KEY: INTERNAL }), { timeout: "60 seconds", excludeTestServices: true })(
  "admin routes",
  (it) => {
    it.effect("refuse a wrong or missing X-Internal-Key with 401", () =>
      Effect.gen(function*() {
        expect((yield* post("/internal/api-keys", { user_email: "a@example.test" }, {})).status).toBe(401)
        const wrong = yield* post("/internal/api-keys", { user_email: "a@example.test" }, { "x-internal-key": "nope" })
        expect(wrong.status).toBe(401)
        expect(yield* wrong.json).toMatchObject({ _tag: "Unauthorized" })
      }))

    it.effect("create (and the legacy alias), list, usage, rotate and revoke a key", () =>
      Effect.gen(function*() {
        const created = yield* post("/internal/api-keys", {
          user_email: "owner@example.test",
          name: "ci",
          rate_limit: 5,
          monthly_quota: 50
        })
        expect(created.status).toBe(201)
        const issued = (yield* created.json) as { api_key: string; key_id: string; user_id: string }
        expect(issued).toMatchObject({ rate_limit: 5, monthly_quota: 50, api_key: expect.stringMatching(/^kdb_live_/) })
        const legacy = yield* post("/internal/create-api-key", { user_email: "OWNER@example.test" })
        expect(legacy.status).toBe(201)
        expect(yield* legacy.json).toMatchObject({ user_id: issued.user_id }) // same user, found by email

        const listed = (yield* (yield* get("/internal/api-keys?user_email=owner@example.test", {
          "x-internal-key": INTERNAL
        })).json) as Array<Record<string, unknown>>
        expect(listed).toHaveLength(2)
        expect(JSON.stringify(listed)).not.toContain(issued.api_key) // never shown twice
        expect(listed[0]).toMatchObject({ key_id: issued.key_id, name: "ci", key_prefix: issued.api_key.slice(0, 15) })

        expect((yield* get("/api/v1/me", withKey(issued.api_key))).status).toBe(200)
        const usage = yield* get("/api/v1/usage", withKey(issued.api_key))
        expect(usage.status).toBe(200)
        expect(yield* usage.json).toMatchObject({
          key: { key_id: issued.key_id, rate_limit: 5, monthly_quota: 50, monthly_usage: 2 },
          rate_limit_remaining: 3,
          monthly_remaining: 48
        })

        const rotated = yield* post(`/internal/api-keys/${issued.key_id}/rotate`, {})
        expect(rotated.status).toBe(200)
        const next = (yield* rotated.json) as { api_key: string; key_id: string }
        expect(next.key_id).toBe(issued.key_id)
        expect((yield* get("/api/v1/me", withKey(issued.api_key))).status).toBe(401)
        expect((yield* get("/api/v1/me", withKey(next.api_key))).status).toBe(200)

        const revoked = yield* post(`/internal/api-keys/${issued.key_id}/revoke`, {})
        expect(revoked.status).toBe(200)
        expect(yield* revoked.json).toMatchObject({ key_id: issued.key_id, revoked_at: expect.any(String) })
        expect((yield* get("/api/v1/me", withKey(next.api_key))).status).toBe(401)
        expect((yield* post(`/internal/api-keys/${issued.key_id}/rotate`, {})).status).toBe(404)
      }))

    it.effect("bad input is a 400 in the one shape, and an unknown key id a 404", () =>
      Effect.gen(function*() {
        for (
          const body of [{}, { user_email: "not-an-email" }, { user_email: "a@example.test", rate_limit: 0 }, {
            user_email: "a@example.test",
            allowed_ips: ["not a cidr"]
          }]
        ) {
          const response = yield* post("/internal/api-keys", body)
          expect(response.status).toBe(400)
          expect(yield* response.json).toMatchObject({ _tag: expect.any(String), message: expect.any(String) })
        }
        const missing = yield* post(`/internal/api-keys/${crypto.randomUUID()}/revoke`, {})
        expect(missing.status).toBe(404)
        expect(yield* missing.json).toMatchObject({ _tag: "ApiKeyNotFound" })
        expect((yield* post("/internal/api-keys/not-a-uuid/revoke", {})).status).toBe(400)
      }))
  }
)
