import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import { randomUUID } from "node:crypto"
import { hostname } from "node:os"
import type { ClaimedJob, JobId } from "../domain/Job.js"
import { PermanentJobError } from "../domain/Job.js"
import { AppConfig } from "../services/AppConfig.js"
import { Metrics, tagger } from "../services/Metrics.js"
import { JobStore } from "../services/stores/JobStore.js"
import { WorkerStatus } from "../services/WorkerStatus.js"
import { JobHandlers } from "./JobHandlers.js"
import { retryDelay } from "./RetryPolicy.js"

/**
 * Restarts a crashed loop after 200 ms, doubling with jitter up to 2 s; calm for a minute resets it.
 * The cap bounds how long after the database returns the loops and the LISTEN connection are back.
 */
const restartPolicy = Schedule.exponential("200 millis").pipe(
  Schedule.jittered,
  Schedule.union(Schedule.spaced("2 seconds")),
  Schedule.resetAfter("1 minute")
)

/** Sending a batch's completions again after a lost connection: for about 30 s, then give up. */
const finishRetry = Schedule.exponential("100 millis").pipe(
  Schedule.union(Schedule.spaced("2 seconds")),
  Schedule.upTo("30 seconds")
)

const supervised = (name: string) => <A, E, R>(loop: Effect.Effect<A, E, R>) =>
  loop.pipe(
    Effect.catchAllCause((cause): Effect.Effect<never, "restart"> =>
      Cause.isInterruptedOnly(cause)
        ? Effect.interrupt
        : Effect.logWarning(`${name} crashed; restarting`, cause).pipe(Effect.zipRight(Effect.fail("restart" as const)))
    ),
    Effect.retry(restartPolicy),
    Effect.annotateLogs({ service: "Worker", loop: name })
  )

/** A W3C `traceparent` (`00-<trace id>-<span id>-<flags>`) as a span link. */
const linkTo = (traceparent: string | null): ReadonlyArray<Tracer.SpanLink> => {
  const match = traceparent === null ? null : /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(traceparent)
  if (match === null) return []
  return [{
    _tag: "SpanLink",
    span: Tracer.externalSpan({ traceId: match[1]!, spanId: match[2]!, sampled: (parseInt(match[3]!, 16) & 1) === 1 }),
    attributes: { "link.kind": "enqueued_by" }
  }]
}

const errorMessage = (cause: Cause.Cause<unknown>) =>
  Option.match(Cause.failureOption(cause), {
    onNone: () => Cause.pretty(cause).split("\n")[0] ?? "defect",
    onSome: (error) => (error as { message?: string }).message ?? String(error)
  })

/**
 * The worker runtime: `WORKER_CONCURRENCY` loops that claim jobs (LISTEN wake-ups, polling as the
 * fallback), run them through `JobHandlers` and record the outcome, fenced by this worker's id; a
 * heartbeat that keeps the leases of held jobs fresh and interrupts jobs whose lease was lost; a
 * rescuer for other workers' expired leases; cancellation of running jobs. On shutdown it stops
 * claiming, lets running jobs finish within `WORKER_DRAIN_TIMEOUT` and hands the rest back.
 */
export const runWorker = Effect.gen(function*() {
  const config = yield* AppConfig
  const store = yield* JobStore
  const handlers = yield* JobHandlers
  const status = yield* WorkerStatus
  const workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
  const lease = config.workerLeaseTimeout
  const heartbeatEvery = Duration.max(Duration.millis(500), Duration.times(lease, 1 / 3))

  // Running jobs live in a scope of their own, so that stopping the loops does not stop them.
  const jobScope = yield* Scope.make()
  const batches = yield* Scope.extend(FiberSet.make<void>(), jobScope)
  // Every claimed job, with the fiber running it while it runs: cancelling a job interrupts that fiber.
  const held = new Map<JobId, Fiber.RuntimeFiber<unknown, unknown> | null>()
  // One token per notification, taken by one idle loop: waking every loop for one job only makes them
  // race to claim it. Busy loops keep claiming until the queue is empty, so dropped tokens lose nothing.
  // A claim that comes back full means there may be more: it passes a token on to the next idle loop
  // (`recruit`), so one NOTIFY for a burst of jobs wakes the loops one by one, not one loop alone until
  // the others' poll interval runs out.
  const wakeups = yield* Queue.sliding<void>(config.workerConcurrency)
  let idleLoops = 0
  const recruit = (claimed: ReadonlyArray<ClaimedJob>) =>
    claimed.length === config.workerBatchSize && idleLoops > 0 ? Queue.offer(wakeups, undefined) : Effect.void
  let draining = false
  const setInFlight = status.update((s) => ({ ...s, inFlight: held.size }))

  const jobCounter = tagger(Metrics.jobs, "type", "outcome")
  const jobDuration = tagger(Metrics.jobDuration, "type")

  const attempt = (job: ClaimedJob) => {
    const handler = handlers.get(job.jobType)
    const run = handler === undefined
      ? Effect.fail(new PermanentJobError({ message: `no handler for job type ${job.jobType}` }))
      : handler(job)
    const started = performance.now()
    const measured = run.pipe(
      Effect.onExit((exit) =>
        Effect.sync(() => {
          const outcome = Exit.isSuccess(exit)
            ? "completed"
            : Cause.isInterruptedOnly(exit.cause)
            ? "interrupted"
            : Option.exists(Cause.failureOption(exit.cause), (e) => e instanceof PermanentJobError)
            ? "failed"
            : "errored"
          jobCounter(job.jobType, outcome).unsafeUpdate(1, [])
          jobDuration(job.jobType).unsafeUpdate((performance.now() - started) / 1000, [])
        })
      )
    )
    // A trace of its own, linked to the span that enqueued the job (its `traceparent`). Only when traces
    // are exported: a span costs more CPU than a no-op job itself, even one that no exporter sees.
    return !config.tracesExported ? measured : measured.pipe(
      Effect.withSpan("job.process", {
        root: true,
        captureStackTrace: false,
        links: linkTo(job.traceparent),
        attributes: {
          "job.id": job.id,
          "job.type": job.jobType,
          "job.attempt": job.attempt,
          "repository.id": job.repositoryId
        }
      })
    )
  }

  const recordFailure = (job: ClaimedJob, cause: Cause.Cause<unknown>) =>
    Effect.gen(function*() {
      const message = errorMessage(cause)
      const failure = Cause.failureOption(cause)
      const permanent = Option.exists(failure, (e) => e instanceof PermanentJobError)
      const code = Option.getOrNull(Option.flatMapNullable(failure, (e) => (e as { code?: string }).code))
      const inMs = Duration.toMillis(retryDelay(job.attempt, config.jobRetryBase, config.jobRetryCap))
      yield* store.fail(workerId, job.id, message, permanent ? null : { at: new Date(Date.now() + inMs), inMs }, code)
    })

  // Claimed jobs are registered before anything can interrupt: none is held without being known.
  const finishAndClaim = (done: ReadonlyArray<{ id: JobId; result: unknown }>, limit: number) => {
    const call = store.finishAndClaim(workerId, done, limit).pipe(Effect.catchAllDefect(Effect.fail))
    // Polling an empty queue is no event: only a call that records completions is traced.
    const once = done.length > 0 ? call : Effect.withTracerEnabled(call, false)
    return once.pipe(
      // A lost connection must not lose finished work: completions are fenced, so sending them again
      // is safe. Past the bound the jobs are let go (below) and the rescuer re-queues them at lease end.
      // The schedule is only built once a call has failed: this runs once per batch.
      Effect.catchAll(() => Effect.retry(once, finishRetry)),
      Effect.orDie,
      Effect.tap((jobs) =>
        Effect.sync(() => {
          for (const { id } of done) held.delete(id)
          for (const job of jobs) held.set(job.id, null)
        })
      ),
      Effect.uninterruptible
    )
  }

  /** A claimed batch: its jobs, the one to run next, completions not yet recorded, and the next batch. */
  interface Batch {
    readonly jobs: ReadonlyArray<ClaimedJob>
    next: number
    readonly succeeded: Array<{ id: JobId; result: unknown }>
    claimed: ReadonlyArray<ClaimedJob> | undefined
  }

  /**
   * Runs a batch's jobs one after another in one fiber (a fiber per job costs as much CPU as a no-op
   * job itself), then records their completions and claims the next batch in the same round trip.
   *
   * Only the handlers are interruptible. Cancelling the running job interrupts this fiber, and a fiber
   * stays interrupted: it stops before the next job starts, records the completions so far, claims
   * nothing, and the loop runs the rest of the batch in a new fiber. The batch's state lives in `batch`,
   * so none of it goes with the fiber. If recording fails for good (the database gone for longer than
   * the retries), the jobs stop being heartbeated: their leases run out and they run again.
   */
  const processBatch = (batch: Batch) =>
    Effect.withFiberRuntime<void>((fiber) => {
      const run = (job: ClaimedJob) =>
        Effect.suspend(() => {
          if (!held.has(job.id)) return Effect.void // cancelled while this fiber was yielding
          held.set(job.id, fiber)
          return attempt(job)
        }).pipe(Effect.ensuring(Effect.sync(() => held.get(job.id) === fiber && held.set(job.id, null))))

      return Effect.uninterruptibleMask((restore) => {
        const interrupted = Effect.map(Effect.exit(restore(Effect.void)), Exit.isInterrupted)
        return Effect.gen(function*() {
          let stopped = false
          while (batch.next < batch.jobs.length && !draining) { // once draining, the rest is released
            const job = batch.jobs[batch.next]!
            if (!held.has(job.id)) { // cancelled (or its lease lost) before it started
              batch.next++
              continue
            }
            const exit = yield* Effect.exit(restore(run(job)))
            if (!held.has(job.id)) { // cancelled, or lease lost: someone else owns its state now
              batch.next++
              continue
            }
            // Neither cancelled nor lost, yet interrupted: this fiber was interrupted for an earlier job
            // (or by the drain's timeout) and the job never started. (A handler that interrupts itself
            // leaves the fiber uninterrupted: that is a failure like any other.)
            if (Exit.isInterrupted(exit) && (yield* interrupted)) {
              stopped = true
              break
            }
            batch.next++
            if (Exit.isSuccess(exit)) {
              batch.succeeded.push({ id: job.id, result: exit.value ?? null })
            } else {
              yield* recordFailure(job, exit.cause)
              held.delete(job.id)
            }
          }
          // An interrupted fiber claims nothing: jobs claimed on its way out would never run. Once
          // draining, completions are still recorded but nothing new is claimed either.
          stopped ||= yield* interrupted
          const claimed = yield* finishAndClaim(
            batch.succeeded.splice(0),
            draining || stopped ? 0 : config.workerBatchSize
          )
          if (!stopped || batch.next === batch.jobs.length) batch.claimed = claimed
          yield* setInFlight
        })
      }).pipe(
        Effect.tapErrorCause((cause) =>
          Cause.isInterruptedOnly(cause)
            ? Effect.void
            : Effect.sync(() => batch.jobs.forEach((job) => held.delete(job.id)))
        )
      )
    })

  const loop = Effect.gen(function*() {
    let jobs = yield* finishAndClaim([], config.workerBatchSize)
    while (true) {
      yield* status.update((s) => ({ ...s, lastTickAt: new Date(), inFlight: held.size }))
      if (jobs.length === 0) {
        idleLoops++
        yield* Queue.take(wakeups).pipe(
          Effect.timeoutOption(config.workerPollInterval),
          Effect.ensuring(Effect.sync(() => idleLoops--))
        )
        jobs = yield* finishAndClaim([], config.workerBatchSize)
        yield* recruit(jobs)
        continue
      }
      // The batch runs in the job scope: interrupting the loop (shutdown) lets it finish and record
      // its completions; jobs it claimed on the way out are in `held`, released by the drain.
      // `await`, not `join`: a join merges the batch fiber's FiberRefs into the loop's, on every batch.
      const batch: Batch = { jobs, next: 0, succeeded: [], claimed: undefined }
      while (batch.claimed === undefined) {
        const exit = yield* Fiber.await(yield* FiberSet.run(batches, processBatch(batch)))
        if (Exit.isFailure(exit) && !Exit.isInterrupted(exit)) return yield* exit // the loop restarts
        if (batch.claimed === undefined && draining) return yield* Effect.interrupt
      }
      jobs = batch.claimed
      yield* recruit(jobs)
    }
  })

  const heartbeat = Effect.gen(function*() {
    const ids = [...held.keys()]
    if (ids.length === 0) return
    // A lost connection must not cost the leases: the tick retries on a fresh connection for as long
    // as a tick lasts, where the loop restart policy would back off for up to 10 s (past the lease).
    const kept = new Set(
      yield* store.heartbeat(workerId, ids).pipe(
        Effect.catchAllDefect(Effect.fail),
        Effect.retry(Schedule.spaced("200 millis").pipe(Schedule.upTo(heartbeatEvery))),
        Effect.orDie
      )
    )
    for (const id of ids) {
      if (kept.has(id) || !held.has(id)) continue
      const fiber = held.get(id)
      held.delete(id)
      yield* Effect.logWarning("lease lost; interrupting the job").pipe(Effect.annotateLogs({ jobId: id }))
      if (fiber) yield* Fiber.interruptFork(fiber)
    }
  }).pipe(Effect.repeat(Schedule.spaced(heartbeatEvery)), supervised("heartbeat"))

  const cancellations = store.cancellations.pipe(
    Stream.runForEach((id) =>
      Effect.suspend(() => {
        const fiber = held.get(id)
        if (fiber === undefined) return Effect.void
        held.delete(id)
        return Effect.logInfo("job cancelled; interrupting it").pipe(
          Effect.annotateLogs({ jobId: id }),
          Effect.zipRight(fiber ? Fiber.interruptFork(fiber) : Effect.void)
        )
      })
    ),
    supervised("cancellations")
  )

  const rescuer = store.rescue(lease).pipe(
    Effect.withTracerEnabled(false),
    Effect.tap((rescued) =>
      rescued.length === 0
        ? Effect.void
        : Effect.logWarning("expired leases rescued").pipe(Effect.annotateLogs({ jobs: rescued.length }))
    ),
    Effect.repeat(Schedule.spaced(config.workerRescueInterval)),
    supervised("rescuer")
  )

  const listener = store.wakeups.pipe(
    Stream.runForEach(() => Queue.offer(wakeups, undefined)),
    supervised("listener")
  )

  // Registered first, so it runs last: after the loops below have been interrupted.
  yield* Effect.addFinalizer(() =>
    Effect.gen(function*() {
      draining = true
      yield* status.update((s) => ({ ...s, draining: true, loops: 0 }))
      // Finalizers run uninterruptibly: without `interruptible` the timeout could never cut the wait short.
      const finished = yield* FiberSet.awaitEmpty(batches).pipe(
        Effect.interruptible,
        Effect.timeoutOption(config.workerDrainTimeout)
      )
      if (Option.isNone(finished)) yield* Effect.logWarning("drain timeout: interrupting running jobs")
      yield* Scope.close(jobScope, Exit.void)
      const released = yield* store.release(workerId, [...held.keys()])
      yield* Effect.logInfo("worker stopped").pipe(Effect.annotateLogs({ released }))
    })
  )
  yield* Effect.forkIn(heartbeat, jobScope)
  yield* Effect.forkIn(cancellations, jobScope)
  yield* Effect.forkScoped(rescuer)
  yield* Effect.forkScoped(listener)
  for (let i = 0; i < config.workerConcurrency; i++) yield* Effect.forkScoped(supervised(`loop-${i}`)(loop))
  yield* status.update((s) => ({ ...s, enabled: true, loops: config.workerConcurrency, draining: false }))
  yield* Effect.logInfo("worker started").pipe(
    Effect.annotateLogs({ workerId, concurrency: config.workerConcurrency, batchSize: config.workerBatchSize })
  )
  return { workerId } as const
})
