import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { AppConfig } from "./AppConfig.js"
import type { UsageRow } from "./stores/UsageStore.js"
import { UsageStore } from "./stores/UsageStore.js"

// While the database is away rows wait in memory; past this many the oldest are dropped (and logged).
const MAX_BUFFERED = 200_000
const MAX_BATCH = 5_000

/**
 * Collects audit rows in memory and writes them in batches every `USAGE_FLUSH_INTERVAL`, so a request
 * costs no audit write of its own. The last batch is written when the scope closes (graceful shutdown).
 */
export class UsageRecorder extends Effect.Service<UsageRecorder>()("services/UsageRecorder", {
  scoped: Effect.gen(function*() {
    const store = yield* UsageStore
    const config = yield* AppConfig
    let buffer: Array<UsageRow> = []
    // One flush at a time: a caller's flush must not return while the loop's batch is still being
    // written, or rows recorded before the call are not yet in the table when it returns.
    const flushing = yield* Effect.makeSemaphore(1)

    const flushOnce = Effect.suspend(() => {
      if (buffer.length === 0) return Effect.succeed(false)
      const batch = buffer.slice(0, MAX_BATCH)
      buffer = buffer.slice(batch.length)
      return store.insertBatch(batch).pipe(
        Effect.as(true),
        Effect.catchAllCause((cause) =>
          Effect.sync(() => {
            buffer = batch.concat(buffer)
            const dropped = buffer.length - MAX_BUFFERED
            if (dropped > 0) buffer = buffer.slice(dropped)
            return false
          }).pipe(Effect.tap(() => Effect.logWarning("usage audit flush failed; rows kept for the next try", cause)))
        )
      )
    })
    // Uninterruptible: a batch taken out of the buffer is written (or put back) before shutdown goes on.
    const flush = flushOnce.pipe(
      Effect.repeat({ while: (wrote) => wrote && buffer.length > 0 }),
      flushing.withPermits(1),
      Effect.uninterruptible
    )

    // Registered before the loop is forked, so on close the loop stops first and this runs last.
    yield* Effect.addFinalizer(() => flush)
    yield* flush.pipe(
      Effect.repeat(Schedule.spaced(config.usageFlushInterval)),
      Effect.annotateLogs({ service: "UsageRecorder" }),
      Effect.forkScoped
    )

    return {
      record: (row: UsageRow) => Effect.sync(() => void buffer.push(row)),
      flush: Effect.asVoid(flush),
      pending: Effect.sync(() => buffer.length)
    } as const
  })
}) {}
