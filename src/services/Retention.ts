import * as SqlClient from "@effect/sql/SqlClient"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import { AppConfig } from "./AppConfig.js"
import { JobStore } from "./stores/JobStore.js"
import { UsageStore } from "./stores/UsageStore.js"
import { WebhookStore } from "./stores/WebhookStore.js"

// Any constant works; it only has to be the same in every process of one database.
const RETENTION_LOCK = 7_283_914_052
const DAY_MS = 86_400_000

interface Batch {
  readonly last: string | null
  readonly scanned: number
  readonly expired: number
  readonly deleted: number
}

export interface Swept {
  readonly usage: number
  readonly deliveries: number
  readonly jobs: number
  readonly seconds: number
}

/**
 * Removes what SPEC section 12 keeps only for a while: audit rows after `USAGE_RETENTION_DAYS`, webhook
 * deliveries after `DELIVERY_RETENTION_DAYS`, finished jobs (with their events) after
 * `JOB_RETENTION_DAYS`, keeping every unfinished job, the latest job of each repository and the job its
 * status comes from (`indexing_job_retained`, migration 0019). Each table is walked by primary key in
 * batches of `RETENTION_BATCH_SIZE` rows, one short statement each, so no batch holds locks or a
 * snapshot for long, whatever the backlog, and the walk rests between batches so that it never takes
 * more than `RETENTION_DUTY_PERCENT` of one connection's time from the hot paths.
 */
export class Retention extends Effect.Service<Retention>()("services/Retention", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const usage = yield* UsageStore
    const webhooks = yield* WebhookStore
    const jobs = yield* JobStore
    const config = yield* AppConfig

    /**
     * Runs `effect` while this process holds the retention lock, or not at all (None) when another
     * process holds it. The lock is a transaction-level advisory lock held by an otherwise idle
     * transaction on a connection of its own (it works behind a transaction-mode pooler too, and
     * goes with the connection if the process dies); the batches run on other connections, each
     * committing on its own.
     */
    const exclusively = <A>(effect: Effect.Effect<A>) =>
      Effect.gen(function*() {
        const held = yield* Deferred.make<boolean>()
        const done = yield* Deferred.make<void>()
        const holder = yield* sql.withTransaction(
          sql<{ held: boolean }>`SELECT pg_try_advisory_xact_lock(${RETENTION_LOCK}) AS held`.pipe(
            Effect.flatMap(([row]) =>
              Deferred.succeed(held, row?.held === true).pipe(
                Effect.zipRight(row?.held === true ? Deferred.await(done) : Effect.void)
              )
            )
          )
        ).pipe(Effect.orDie, Effect.ensuring(Deferred.succeed(held, false)), Effect.fork)
        if (!(yield* Deferred.await(held))) {
          yield* Fiber.join(holder)
          return Option.none<A>()
        }
        const result = yield* effect.pipe(Effect.ensuring(Deferred.succeed(done, undefined)))
        yield* Fiber.join(holder)
        return Option.some(result)
      })

    // After a batch that took t, the walk rests t × (100 − d) / d, so the sweep keeps its connection busy at
    // most d % of the time: it competes with the hot paths for the same cores and Postgres.
    const restFactor = (100 - config.retentionDutyPercent) / config.retentionDutyPercent

    /**
     * Batches until the table ends, or (for tables whose keys follow time) until nothing is expired, resting
     * after each batch for `RETENTION_DUTY_PERCENT`.
     */
    const walk = (
      batch: (cutoff: Date, after: string, limit: number) => Effect.Effect<Batch>,
      cutoff: Date,
      start: string,
      followsTime: boolean
    ) =>
      Effect.gen(function*() {
        let after = start
        let deleted = 0
        for (;;) {
          const started = performance.now()
          const b = yield* batch(cutoff, after, config.retentionBatchSize)
          deleted += b.deleted
          if (b.last === null || b.scanned < config.retentionBatchSize || (followsTime && b.expired === 0)) {
            return deleted
          }
          after = b.last
          if (restFactor > 0) yield* Effect.sleep((performance.now() - started) * restFactor)
        }
      })

    /** One sweep of every table as of the clock's now; None when another process is sweeping. */
    const sweep = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const before = (days: number) => new Date(now - days * DAY_MS)
      const started = performance.now()
      const swept = yield* exclusively(Effect.all({
        usage: walk(usage.deleteExpired, before(config.usageRetentionDays), "0", true),
        deliveries: walk(webhooks.deleteExpired, before(config.deliveryRetentionDays), "0", true),
        jobs: walk(jobs.deleteExpired, before(config.jobRetentionDays), "00000000-0000-0000-0000-000000000000", false)
      }))
      return Option.map(swept, (counts): Swept => ({ ...counts, seconds: (performance.now() - started) / 1000 }))
    }).pipe(Effect.withSpan("Retention.sweep"))

    return { sweep } as const
  })
}) {}
