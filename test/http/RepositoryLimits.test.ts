import { HttpClient, HttpClientRequest } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { createKey, withKey } from "../utils/keys.js"
import { testApp } from "../utils/TestApp.js"

const send = (method: "POST" | "DELETE", path: string, key: string, body?: unknown) =>
  Effect.flatMap(HttpClient.HttpClient, (client) =>
    client.execute(
      (method === "POST" ? HttpClientRequest.post(path) : HttpClientRequest.del(path)).pipe(
        HttpClientRequest.setHeaders(withKey(key)),
        body === undefined ? (r) => r : HttpClientRequest.bodyUnsafeJson(body)
      )
    ))

const register = (key: string, body: unknown) => send("POST", "/api/v1/repositories", key, body)
const url = (name: string) => `https://github.com/acme/${name}-${crypto.randomUUID().slice(0, 8)}`

const repositoriesOf = (userId: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql<{ n: number }>`SELECT count(*)::int AS n FROM repositories WHERE user_id = ${userId}`.pipe(
        Effect.map((rows) => rows[0]!.n)
      )
  )

layer(testApp({ TENANT_MAX_REPOSITORIES: "5", REPOSITORY_MAX_FILE_SIZE: "64 kB" }), {
  timeout: "60 seconds",
  excludeTestServices: true
})("tenant limits at registration", (it) => {
  it.effect("20 concurrent registrations against a limit of 5: exactly 5 succeed, the rest are 409s naming it", () =>
    Effect.gen(function*() {
      const key = yield* createKey({ rate_limit: 1000 })
      const responses = yield* Effect.all(
        Array.from({ length: 20 }, (_, i) => register(key.api_key, { git_url: url(`many-${i}`) })),
        { concurrency: "unbounded" }
      )
      expect(responses.filter((r) => r.status === 201)).toHaveLength(5)
      const refused = responses.filter((r) => r.status === 409)
      expect(refused).toHaveLength(15)
      const body = (yield* refused[0]!.json) as { _tag: string; message: string; limit: number }
      expect(body._tag).toBe("RepositoryLimitExceeded")
      expect(body.limit).toBe(5)
      expect(body.message).toContain("5 of 5")
      expect(yield* repositoriesOf(key.user_id)).toBe(5)

      // Another tenant has a limit of its own.
      const other = yield* createKey({ rate_limit: 1000 })
      expect((yield* register(other.api_key, { git_url: url("other") })).status).toBe(201)
    }))

  it.effect("at the limit a registered URL still re-registers (200), and a deletion frees a place", () =>
    Effect.gen(function*() {
      const key = yield* createKey({ rate_limit: 1000 })
      const urls = Array.from({ length: 5 }, (_, i) => url(`full-${i}`))
      const ids: Array<string> = []
      for (const u of urls) {
        const response = yield* register(key.api_key, { git_url: u })
        expect(response.status).toBe(201)
        ids.push(((yield* response.json) as { repository_id: string }).repository_id)
      }
      expect((yield* register(key.api_key, { git_url: urls[2] })).status).toBe(200)
      expect((yield* register(key.api_key, { git_url: url("sixth") })).status).toBe(409)
      expect((yield* send("DELETE", `/api/v1/repositories/${ids[0]}`, key.api_key)).status).toBe(204)
      expect((yield* register(key.api_key, { git_url: url("sixth") })).status).toBe(201)
      expect(yield* repositoriesOf(key.user_id)).toBe(5)
    }))

  it.effect("settings.max_file_size above REPOSITORY_MAX_FILE_SIZE is a 400 and writes nothing", () =>
    Effect.gen(function*() {
      const key = yield* createKey({ rate_limit: 1000 })
      const tooLarge = yield* register(key.api_key, { git_url: url("big"), settings: { max_file_size: 65_537 } })
      expect(tooLarge.status).toBe(400)
      const body = (yield* tooLarge.json) as { _tag: string; message: string }
      expect(body._tag).toBe("InvalidRepositorySettings")
      expect(body.message).toContain("65536")
      expect(yield* repositoriesOf(key.user_id)).toBe(0)
      const atCap = yield* register(key.api_key, { git_url: url("big"), settings: { max_file_size: 65_536 } })
      expect(atCap.status).toBe(201)
    }))
})
