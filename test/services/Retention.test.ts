import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Option } from "effect"
import { Retention } from "../../src/services/Retention.js"
import { atTime, clockAt } from "../utils/FixedClock.js"
import { insertRepository, insertUser } from "../utils/fixtures.js"
import { testServices } from "../utils/TestApp.js"
import { TestDatabaseLive } from "../utils/TestDatabase.js"

// Two rows per batch, so that every walk crosses several batches.
const services = testServices({ RETENTION_BATCH_SIZE: "2" }).pipe(Layer.provide(TestDatabaseLive))

const NOW = Date.UTC(2027, 2, 15, 12, 0, 0)
const daysAgo = (days: number) => new Date(NOW - days * 86_400_000)

/** A clock that says NOW and whose sleeps all wait until `open`: a sweep's rests are held and counted. */
const heldClock = Effect.gen(function*() {
  const gate = yield* Deferred.make<void>()
  let rests = 0
  const clock = clockAt(NOW, () => Effect.zipRight(Effect.sync(() => rests++), Deferred.await(gate)))
  return { clock, open: Deferred.succeed(gate, undefined), rests: Effect.sync(() => rests) }
})

/** A key of `user`'s, for audit rows. */
const insertKey = (user: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ id: string }>`
      INSERT INTO api_keys (user_id, key_hash, key_prefix) VALUES (${user}, encode(sha256(random()::text::bytea), 'hex'), 'kdb_live_x')
      RETURNING id`.pipe(Effect.map((rows) => rows[0]!.id)))

const insertUsage = (key: string, user: string, days: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`
      INSERT INTO api_key_usage (key_id, user_id, route, method, status, outcome, created_at)
      VALUES (${key}, ${user}, '/api/v1/me', 'GET', 200, 'ok', ${daysAgo(days)})`)

/** An emptied audit log, then `rows` expired rows of a new key; the effect returned counts what is left of them. */
const expiredBacklog = (rows: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const user = yield* insertUser()
    const key = yield* insertKey(user)
    // Ids follow time: the rows of an earlier test, all newer, would end the walk before these.
    yield* sql`DELETE FROM api_key_usage`
    for (let i = 0; i < rows; i++) yield* insertUsage(key, user, 200)
    return sql<{ n: number }>`SELECT count(*)::int AS n FROM api_key_usage WHERE key_id = ${key}`.pipe(
      Effect.map((counted) => counted[0]!.n)
    )
  })

layer(services, { timeout: "60 seconds", excludeTestServices: true })("retention", (it) => {
  it.effect("removes what is past its retention, keeps the rest, and keeps every repository's status", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const retention = yield* Retention
      const user = yield* insertUser()
      const key = yield* insertKey(user)
      // Audit rows in the order a server writes them (ids follow time): 2 past 90 days, 3 within.
      for (const days of [120, 91, 89, 10, 0]) yield* insertUsage(key, user, days)
      yield* sql`INSERT INTO api_key_usage_monthly (key_id, month, outcome, requests) VALUES (${key}, '2027-03-01', 'ok', 5)`

      const job = (
        repository: string,
        name: string,
        type: string,
        status: string,
        created: number,
        finished?: number
      ) =>
        sql<{ id: string }>`
          INSERT INTO indexing_jobs (repository_id, job_type, status, created_at, queued_at, finished_at, locked_by, locked_at, payload)
          VALUES (${repository}, ${type}, ${status}, ${daysAgo(created)}, ${daysAgo(created)},
                  ${finished === undefined ? null : daysAgo(finished)},
                  ${status === "in_progress" ? "w" : null}, ${status === "in_progress" ? daysAgo(0) : null},
                  ${JSON.stringify({ name })}::jsonb)
          RETURNING id`.pipe(Effect.map((rows) => [name, rows[0]!.id] as const))
      const a = yield* insertRepository(user, "a")
      const b = yield* insertRepository(user, "b")
      const ids = Object.fromEntries(
        yield* Effect.all([
          job(a, "a-queued-old", "full_index", "queued", 50), // unfinished: stays
          job(a, "a-completed", "full_index", "completed", 41, 40), // superseded: goes
          job(a, "a-failed", "webhook_update", "failed", 36, 35), // a's status comes from it: stays
          job(a, "a-cancelled", "incremental_update", "cancelled", 34, 33), // goes
          job(a, "a-provision", "provision_webhook", "completed", 32, 31), // a's latest job: stays
          job(b, "b-running", "full_index", "in_progress", 60), // unfinished: stays
          job(b, "b-old", "full_index", "completed", 46, 45), // goes
          job(b, "b-recent", "full_index", "completed", 29, 29) // within 30 days: stays
        ])
      )
      for (const name of ["a-completed", "a-failed"]) {
        yield* sql`INSERT INTO indexing_job_events (job_id, event_type, created_at) VALUES (${ids[name]!}, 'x', ${
          daysAgo(40)
        })`
      }
      const delivery = (name: string, days: number, jobId: string | null) =>
        sql`
          INSERT INTO webhook_deliveries (repository_id, delivery_id, event_type, job_id, received_at, payload)
          VALUES (${a}, ${name}, 'push', ${jobId}, ${daysAgo(days)}, '{}'::jsonb)`
      yield* delivery("d-latest-job", 40, ids["a-provision"]!) // its job stays: stays
      yield* delivery("d-finished-job", 31, ids["a-completed"]!) // goes
      yield* delivery("d-unfinished-job", 31, ids["a-queued-old"]!) // stays
      yield* delivery("d-no-job", 31, null) // goes
      yield* delivery("d-recent", 29, ids["a-completed"]!) // within 30 days: stays

      const statuses = sql<{ a: string; b: string }>`SELECT repository_status(${a}) AS a, repository_status(${b}) AS b`
      const before = yield* statuses

      const swept = yield* retention.sweep.pipe(atTime(NOW))
      expect(Option.map(swept, ({ deliveries, jobs, usage }) => ({ usage, deliveries, jobs }))).toEqual(
        Option.some({ usage: 2, deliveries: 2, jobs: 3 })
      )

      const usage = yield* sql<{ days: number }>`
        SELECT round(extract(epoch FROM (${new Date(NOW)}::timestamptz - created_at)) / 86400)::int AS days
        FROM api_key_usage ORDER BY id`
      expect(usage.map((row) => row.days)).toEqual([89, 10, 0])
      const jobs = yield* sql<{ name: string }>`SELECT payload->>'name' AS name FROM indexing_jobs ORDER BY 1`
      expect(jobs.map((row) => row.name)).toEqual(
        ["a-failed", "a-provision", "a-queued-old", "b-recent", "b-running"]
      )
      const events = yield* sql<{ jobId: string }>`SELECT job_id FROM indexing_job_events`
      expect(events.map((row) => row.jobId)).toEqual([ids["a-failed"]])
      const deliveries = yield* sql<{ name: string }>`SELECT delivery_id AS name FROM webhook_deliveries ORDER BY 1`
      expect(deliveries.map((row) => row.name)).toEqual(["d-latest-job", "d-recent", "d-unfinished-job"])
      expect(yield* statuses).toEqual(before)
      const [counter] = yield* sql<{ n: number }>`SELECT requests::int AS n FROM api_key_usage_monthly`
      expect(counter!.n).toBe(5)

      // Nothing more to do: the next sweep removes nothing.
      const again = yield* retention.sweep.pipe(atTime(NOW))
      expect(Option.map(again, ({ deliveries, jobs, usage }) => usage + deliveries + jobs)).toEqual(Option.some(0))
    }))

  it.effect("while another process sweeps, a sweep does nothing", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const retention = yield* Retention
      const left = yield* expiredBacklog(1)
      // The other process: a transaction of its own holding the retention lock.
      const locked = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const other = yield* sql.withTransaction(
        sql`SELECT pg_advisory_xact_lock(7283914052)`.pipe(
          Effect.zipRight(Deferred.succeed(locked, undefined)),
          Effect.zipRight(Deferred.await(release))
        )
      ).pipe(Effect.fork)
      yield* Deferred.await(locked)
      expect(yield* retention.sweep.pipe(atTime(NOW))).toEqual(Option.none())
      expect(yield* left).toBe(1)
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(other)
      const swept = yield* retention.sweep.pipe(atTime(NOW))
      expect(Option.map(swept, (s) => s.usage)).toEqual(Option.some(1))
    }))

  it.effect("the sweep rests after every batch it continues from (RETENTION_DUTY_PERCENT), and goes on after", () =>
    Effect.gen(function*() {
      const retention = yield* Retention
      // Five expired rows in batches of two: 2, rest, 2, rest, 1 (a short batch ends the walk).
      const left = yield* expiredBacklog(5)
      const held = yield* heldClock
      const sweeping = yield* retention.sweep.pipe(Effect.withClock(held.clock), Effect.fork)
      while ((yield* left) > 3) yield* Effect.sleep("10 millis")
      yield* Effect.sleep("300 millis")
      expect(yield* left, "the sweep went on without resting").toBe(3)
      expect(yield* held.rests).toBe(1)
      expect(Option.isNone(yield* Fiber.poll(sweeping))).toBe(true)

      yield* held.open
      const swept = yield* Fiber.join(sweeping)
      expect(Option.map(swept, (s) => s.usage)).toEqual(Option.some(5))
      expect(yield* left).toBe(0)
    }))
})
