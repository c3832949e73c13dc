import * as Effect from "effect/Effect"
import type { JobId, JobType } from "../../domain/Job.js"
import { AppConfig } from "../AppConfig.js"
import { currentTraceparent, spanWhen } from "../TraceContext.js"
import { DirectQuery } from "./DirectQuery.js"
import { JOBS_CHANNEL } from "./JobStore.js"

export interface IncomingDelivery {
  readonly repositoryId: string
  readonly deliveryId: string
  readonly eventType: string
  /** The payload's JSON text for the `payload` jsonb column (see Webhooks.ts for what it may differ in). */
  readonly payloadJson: string | null
  /** The body exactly as received and signed. */
  readonly payloadRaw: Uint8Array
  readonly headers: Record<string, string>
  /** The job to run for it, or null with the status to record instead (`ignored`, `processed`). */
  readonly job: { readonly type: JobType; readonly payload: Record<string, unknown> } | null
  readonly statusWithoutJob: "ignored" | "processed"
}

export interface Received {
  readonly status: string
  readonly jobId: JobId | null
  readonly duplicate: boolean
}

export interface DeliveryState {
  readonly status: string
  readonly jobId: JobId | null
}

const RECEIVE = `SELECT status, job_id, duplicate FROM webhook_receive(
  $1, 'github', $2, $3, $4::jsonb, $5::bytea, $6::jsonb, $7, $8, $9::jsonb, $10, $11)`

const STATE = `SELECT status, job_id FROM webhook_delivery_state($1, 'github', $2)`

/**
 * SQLSTATE classes of a value Postgres refuses as input: 22 (data exception: a number out of numeric's
 * range, an escape jsonb cannot hold) and 54 (program limit: JSON nested deeper than the stack allows).
 */
const REFUSED_VALUE = /^(22|54)/

const refusedValue = (error: { readonly cause?: unknown }) => {
  const code = (error.cause as { code?: unknown } | null)?.code
  return typeof code === "string" && REFUSED_VALUE.test(code)
}

/** Owns `webhook_deliveries`. */
export class WebhookStore extends Effect.Service<WebhookStore>()("services/stores/WebhookStore", {
  effect: Effect.gen(function*() {
    const direct = yield* DirectQuery
    const traced = (yield* AppConfig).tracesExported
    const receiveSpan = spanWhen(traced, "WebhookStore.receive")
    const stateSpan = spanWhen(traced, "WebhookStore.state")

    const call = (d: IncomingDelivery, payloadJson: string | null, traceparent: string | null) =>
      direct.run<{ status: string; job_id: JobId | null; duplicate: boolean }>(RECEIVE, [
        d.repositoryId,
        d.deliveryId,
        d.eventType,
        payloadJson,
        Buffer.from(d.payloadRaw.buffer, d.payloadRaw.byteOffset, d.payloadRaw.byteLength),
        JSON.stringify(d.headers),
        d.statusWithoutJob,
        d.job?.type ?? null,
        JSON.stringify(d.job?.payload ?? {}),
        JOBS_CHANNEL,
        traceparent
      ])

    /**
     * Records a verified delivery, deduplicated by delivery id, and enqueues its job, in one round
     * trip (`webhook_receive`, last redefined by the migration `webhook_deliveries_raw_payload`; the
     * job insert there is JobStore.enqueue's, NOTIFY included). The busiest statement of the service, so it
     * goes through DirectQuery. When Postgres refuses the payload as jsonb, which the caller cannot
     * foresee in every case, the delivery is recorded again without it: its bytes are kept either way.
     */
    const receive = (d: IncomingDelivery) =>
      Effect.flatMap(currentTraceparent, (traceparent) =>
        call(d, d.payloadJson, traceparent).pipe(
          Effect.catchIf(refusedValue, () => call(d, null, traceparent)),
          Effect.map(([row]): Received => ({ status: row!.status, jobId: row!.job_id, duplicate: row!.duplicate }))
        ))

    /** A delivery's status and job, when this repository holds it: the cheap answer to a copy. */
    const state = (repositoryId: string, deliveryId: string) =>
      direct.run<{ status: string; job_id: JobId | null }>(STATE, [repositoryId, deliveryId]).pipe(
        Effect.map(([row]): DeliveryState | undefined =>
          row === undefined ? undefined : { status: row.status, jobId: row.job_id }
        )
      )

    return {
      receive: (delivery: IncomingDelivery) => receive(delivery).pipe(Effect.orDie, receiveSpan),
      state: (repositoryId: string, deliveryId: string) =>
        state(repositoryId, deliveryId).pipe(Effect.orDie, stateSpan),
      /**
       * One retention batch: the next `limit` deliveries by id after `after`, of which those received
       * before `cutoff` are deleted, unless their job is one that stays (`indexing_job_retained`). Ids
       * follow time, so the caller stops at the first batch with nothing expired.
       */
      deleteExpired: (cutoff: Date, after: string, limit: number) =>
        direct.run<{ last: string | null; scanned: number; expired: number; deleted: number }>(
          `WITH scanned AS (
            SELECT id, job_id, received_at < $1 AS expired FROM webhook_deliveries
            WHERE id > $2::bigint ORDER BY id LIMIT $3
          ), gone AS (
            DELETE FROM webhook_deliveries d USING scanned s
            WHERE d.id = s.id AND s.expired
              AND (s.job_id IS NULL OR NOT coalesce(indexing_job_retained(s.job_id), false))
            RETURNING 1
          )
          SELECT (SELECT max(id)::text FROM scanned) AS last, (SELECT count(*)::int FROM scanned) AS scanned,
                 (SELECT count(*)::int FROM scanned WHERE expired) AS expired,
                 (SELECT count(*)::int FROM gone) AS deleted`,
          [cutoff, after, limit]
        ).pipe(Effect.map((rows) => rows[0]!), Effect.orDie, Effect.withSpan("WebhookStore.deleteExpired"))
    } as const
  })
}) {}
