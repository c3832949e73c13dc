// The outage suite: signed webhook deliveries and authenticated requests keep coming while the
// database (a server of this file's own) is stopped for 5 s and started again. Pass: every delivery
// that got a 2xx is stored and its job runs; every other answer is a clean 503 (no hang, no crash);
// /health says down, then ok; the worker and its LISTEN connection are back within 5 s.
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Fiber, Layer, Ref, Schedule } from "effect"
import { createHmac } from "node:crypto"
import { JobHandlers } from "../../src/worker/JobHandlers.js"
import { runWorker } from "../../src/worker/Worker.js"
import { createKey, withKey } from "../utils/keys.js"
import { testApp } from "../utils/TestApp.js"
import { OwnDatabaseLive, TestPostgres } from "../utils/TestPostgres.js"

const ran = new Set<string>()

const app = Layer.scopedDiscard(runWorker).pipe(
  Layer.provide(JobHandlers.layer({ webhook_update: (job) => Effect.sync(() => void ran.add(job.id)) })),
  Layer.provideMerge(testApp({
    HEALTH_CACHE_TTL: "0 millis",
    // Polling slower than the bound below: a job that starts within it was woken by NOTIFY.
    WORKER_POLL_INTERVAL: "30 seconds",
    JOB_RETRY_BASE_DELAY: "200 millis",
    JOB_RETRY_MAX_DELAY: "1 second",
    DATABASE_CONNECT_TIMEOUT: "1 second"
  }, OwnDatabaseLive))
)

layer(app, { timeout: "120 seconds", excludeTestServices: true })("database outage", (it) => {
  it.effect("deliveries and requests through a 5 s Postgres stop: nothing acknowledged is lost, clean 503s, quick recovery", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const postgres = yield* TestPostgres
      const key = (yield* createKey({ rate_limit: 100_000 })).api_key
      const registered = (yield* (yield* client.execute(
        HttpClientRequest.post("/api/v1/repositories").pipe(
          HttpClientRequest.setHeaders(withKey(key)),
          HttpClientRequest.bodyUnsafeJson({ git_url: "https://github.com/acme/outage", branch: "main" })
        )
      )).json) as { repository_id: string; webhook: { secret: string } }

      const accepted = yield* Ref.make<Array<{ delivery: string; job: string }>>([])
      const statuses = yield* Ref.make<Record<string, number>>({})
      const count = (status: number | string) => Ref.update(statuses, (s) => ({ ...s, [status]: (s[status] ?? 0) + 1 }))
      let n = 0
      const deliverOne = Effect.gen(function*() {
        const delivery = crypto.randomUUID()
        const body = JSON.stringify({
          ref: "refs/heads/main",
          before: "1".repeat(40),
          after: (++n).toString(16).padStart(40, "0"),
          repository: { default_branch: "main" },
          commits: []
        })
        const response = yield* client.execute(
          HttpClientRequest.post(`/webhooks/github/${registered.repository_id}`).pipe(
            HttpClientRequest.setHeaders({
              "x-github-event": "push",
              "x-github-delivery": delivery,
              "x-hub-signature-256": `sha256=${
                createHmac("sha256", registered.webhook.secret).update(body).digest("hex")
              }`
            }),
            HttpClientRequest.bodyText(body, "application/json")
          )
        ).pipe(Effect.timeout("4 seconds"))
        yield* count(`webhook ${response.status}`)
        if (response.status === 202) {
          const job = ((yield* response.json) as { job_id: string }).job_id
          yield* Ref.update(accepted, (list) => [...list, { delivery, job }])
        } else {
          expect(response.status).toBe(503)
          expect(yield* response.json).toMatchObject({ _tag: "DatabaseUnavailable" })
        }
      })
      const requestOne = Effect.gen(function*() {
        const response = yield* client.execute(
          HttpClientRequest.get("/api/v1/repositories").pipe(HttpClientRequest.setHeaders(withKey(key)))
        ).pipe(Effect.timeout("4 seconds"))
        yield* count(`api ${response.status}`)
        expect([200, 503]).toContain(response.status)
      })
      const health = Effect.flatMap(
        client.get("/health"),
        (r) => Effect.map(r.json, (b) => (b as { status: string }).status)
      )
      const seen = new Set<string>()
      const traffic = yield* Effect.fork(
        Effect.all([deliverOne, requestOne, Effect.map(health, (s) => seen.add(s))], { concurrency: 3 }).pipe(
          Effect.zipRight(Effect.sleep("50 millis")),
          Effect.forever
        )
      )

      yield* Effect.sleep("1 second")
      yield* postgres.stop
      yield* Effect.sleep("5 seconds")
      yield* postgres.start
      const back = Date.now()
      const acceptedBefore = (yield* Ref.get(accepted)).length
      // The first delivery acknowledged after the restart: its job must start within 5 s of the
      // restart, woken by NOTIFY over a LISTEN connection made again (polling is every 30 s).
      const first = yield* Ref.get(accepted).pipe(
        Effect.map((list) => list[acceptedBefore]),
        Effect.filterOrFail((entry) => entry !== undefined),
        Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.upTo("5 seconds"))),
        Effect.orElse(() => Effect.dieMessage("no delivery was acknowledged within 5 s of the restart"))
      )
      yield* Effect.sync(() => ran.has(first!.job)).pipe(
        Effect.filterOrFail((started) => started),
        Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.upTo("5 seconds"))),
        Effect.orElse(() => Effect.dieMessage("no job started within 5 s of the restart"))
      )
      const recoveredMs = Date.now() - back
      expect(recoveredMs).toBeLessThan(5000)
      yield* Effect.sleep("2 seconds")
      yield* Fiber.interrupt(traffic)
      // With traffic stopped the loops sit idle (polling every 30 s): only a working LISTEN connection
      // can start this one.
      yield* Effect.sleep("500 millis")
      yield* deliverOne
      const last = (yield* Ref.get(accepted)).at(-1)!
      yield* Effect.sync(() => ran.has(last.job)).pipe(
        Effect.filterOrFail((started) => started),
        Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.upTo("3 seconds"))),
        Effect.orElse(() => Effect.dieMessage("LISTEN did not recover: an idle worker was not woken"))
      )

      // Every acknowledged delivery is stored with its job, and every one of those jobs has run.
      const all = yield* Ref.get(accepted)
      yield* Effect.sync(() => all.every(({ job }) => ran.has(job))).pipe(
        Effect.filterOrFail((done) => done),
        Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo("20 seconds"))),
        Effect.orElse(() =>
          Effect.dieMessage(`${all.filter(({ job }) => !ran.has(job)).length} acknowledged jobs never ran`)
        )
      )
      const sql = yield* SqlClient.SqlClient
      const stored = yield* sql<{ deliveryId: string; jobId: string }>`
        SELECT delivery_id, job_id FROM webhook_deliveries WHERE delivery_id = ANY(${all.map((a) => a.delivery)})`
      expect(new Map(stored.map((row) => [row.deliveryId, row.jobId]))).toEqual(
        new Map(all.map((a) => [a.delivery, a.job]))
      )

      const counted = yield* Ref.get(statuses)
      console.log(
        `outage: ${JSON.stringify(counted)}; /health said ${[...seen].join(", ")}; ` +
          `${all.length} deliveries acknowledged, all stored and run; the first job after the restart started ${recoveredMs} ms after it`
      )
      expect(counted["webhook 503"]).toBeGreaterThan(0)
      expect(counted["api 503"]).toBeGreaterThan(0)
      expect(seen).toContain("down")
      expect(yield* health).toBe("ok")
    }))
})
