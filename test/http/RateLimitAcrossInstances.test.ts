import { HttpClient, HttpClientRequest, HttpLayerRouter } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { RoutesLive } from "../../src/layers/Http.js"
import { ApiKeyAdmin } from "../../src/services/ApiKeyAdmin.js"
import { testServices } from "../utils/TestApp.js"
import { TestDatabaseLive } from "../utils/TestDatabase.js"

/** A whole server (its own pool, key cache and listener) over the database in the context. */
const instance = Layer.fresh(
  HttpLayerRouter.serve(RoutesLive, { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provideMerge(NodeHttpServer.layerTest),
    Layer.provideMerge(testServices({ API_KEY_CACHE_TTL: "30 seconds" }))
  )
)

const startInstance = Effect.map(Layer.build(instance), (context) => ({
  client: Context.get(context, HttpClient.HttpClient),
  admin: Context.get(context, ApiKeyAdmin)
}))

const statuses = (client: HttpClient.HttpClient, key: string, n: number) =>
  Effect.forEach(
    Array.from({ length: n }),
    () => client.execute(HttpClientRequest.get("/api/v1/me").pipe(HttpClientRequest.setHeader("x-api-key", key))),
    { concurrency: "unbounded" }
  ).pipe(Effect.map((responses) => responses.map((r) => r.status)))

const count = (all: ReadonlyArray<number>, status: number) => all.filter((s) => s === status).length

layer(TestDatabaseLive, { timeout: "90 seconds", excludeTestServices: true })("one database, several servers", (it) => {
  it.scoped("200 concurrent requests against a limit of 50 admit exactly 50", () =>
    Effect.gen(function*() {
      const a = yield* startInstance
      const key = yield* a.admin.create({ user_email: "burst@example.test", rate_limit: 50 })
      const all = yield* statuses(a.client, key.api_key, 200)
      expect(count(all, 200)).toBe(50)
      expect(count(all, 429)).toBe(150)
    }))

  it.scoped("split across two server instances, they admit exactly 50 together", () =>
    Effect.gen(function*() {
      const [a, b] = yield* Effect.all([startInstance, startInstance])
      const key = yield* a.admin.create({ user_email: "split@example.test", rate_limit: 50 })
      const [fromA, fromB] = yield* Effect.all([
        statuses(a.client, key.api_key, 100),
        statuses(b.client, key.api_key, 100)
      ], {
        concurrency: 2
      })
      const all = [...fromA, ...fromB]
      expect(count(all, 200)).toBe(50)
      expect(count(all, 429)).toBe(150)
      expect(count(fromA, 200)).toBeGreaterThan(0)
      expect(count(fromB, 200)).toBeGreaterThan(0)
    }))

  it.scoped("a key revoked through one instance is refused by the other within a second", () =>
    Effect.gen(function*() {
      const [a, b] = yield* Effect.all([startInstance, startInstance])
      const key = yield* a.admin.create({ user_email: "revoke@example.test", rate_limit: 1000 })
      expect(yield* statuses(b.client, key.api_key, 1)).toEqual([200]) // now cached in b for 30 s
      yield* Effect.sleep("200 millis") // b's LISTEN connection is up

      yield* a.admin.revoke(key.key_id)
      const revokedAt = Date.now()
      let refusedAfter = Number.POSITIVE_INFINITY
      while (Date.now() - revokedAt < 1000) {
        const [status] = yield* statuses(b.client, key.api_key, 1)
        if (status === 401) {
          refusedAfter = Date.now() - revokedAt
          break
        }
        yield* Effect.sleep("25 millis")
      }
      expect(refusedAfter).toBeLessThan(1000)
    }))

  it.scoped("rotation: the old secret stops working on every instance, the new one works", () =>
    Effect.gen(function*() {
      const [a, b] = yield* Effect.all([startInstance, startInstance])
      const key = yield* a.admin.create({ user_email: "rotate@example.test" })
      expect(yield* statuses(b.client, key.api_key, 1)).toEqual([200])
      yield* Effect.sleep("200 millis")
      const rotated = yield* a.admin.rotate(key.key_id)
      expect(rotated.key_id).toBe(key.key_id)
      expect(rotated.api_key).not.toBe(key.api_key)
      yield* Effect.sleep("500 millis")
      expect(yield* statuses(b.client, key.api_key, 1)).toEqual([401])
      expect(yield* statuses(b.client, rotated.api_key, 1)).toEqual([200])
    }))
})
