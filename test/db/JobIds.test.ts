import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlLive } from "../../src/layers/Sql.js"
import { insertRepository, insertUser } from "../utils/fixtures.js"
import { testConfig } from "../utils/TestApp.js"
import { TestDatabaseLive } from "../utils/TestDatabase.js"

/** The Unix milliseconds in a UUIDv7's first 48 bits. */
const millisOf = (id: string) => parseInt(id.replaceAll("-", "").slice(0, 12), 16)

const expectV7 = (id: string, from: number, to: number) => {
  expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  expect(millisOf(id)).toBeGreaterThanOrEqual(from)
  expect(millisOf(id)).toBeLessThanOrEqual(to)
}

layer(SqlLive.pipe(Layer.provide(TestDatabaseLive), Layer.provideMerge(testConfig())), {
  timeout: "60 seconds",
  excludeTestServices: true
})("job ids", (it) => {
  it.effect("are UUIDv7: the creation time first, so ids drawn later sort later", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const repository = yield* insertRepository(yield* insertUser())
      const insert = sql<{ id: string }>`
        INSERT INTO indexing_jobs (repository_id, job_type) VALUES (${repository}, 'validate') RETURNING id`
      const before = Date.now()
      const [first] = yield* insert
      yield* Effect.sleep("5 millis")
      const [second] = yield* insert
      const after = Date.now()
      expectV7(first!.id, before, after)
      expectV7(second!.id, before, after)
      expect(millisOf(second!.id)).toBeGreaterThan(millisOf(first!.id))
      expect(second!.id > first!.id).toBe(true)
    }).pipe(Effect.orDie))

  it.effect("a webhook delivery's job gets one too", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const repository = yield* insertRepository(yield* insertUser())
      const before = Date.now()
      const [received] = yield* sql<{ jobId: string }>`
        SELECT job_id FROM webhook_receive(${repository}, 'github', ${crypto.randomUUID()}, 'push', '{}'::jsonb, '{}'::bytea,
          '{}'::jsonb, 'ignored', 'webhook_update', '{}'::jsonb, 'kotadb_jobs', NULL)`
      expectV7(received!.jobId, before, Date.now())
    }).pipe(Effect.orDie))
})
