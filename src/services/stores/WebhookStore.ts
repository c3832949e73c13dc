import { Effect } from "effect"
import type { JobId, JobType } from "../../domain/Job.js"
import { AppConfig } from "../AppConfig.js"
import { currentTraceparent, spanWhen } from "../TraceContext.js"
import { DirectQuery } from "./DirectQuery.js"
import { JOBS_CHANNEL } from "./JobStore.js"

export interface IncomingDelivery {
  readonly repositoryId: string
  readonly deliveryId: string
  readonly eventType: string
  /** The payload's JSON text, as received. */
  readonly payloadJson: string
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

const RECEIVE = `SELECT status, job_id, duplicate FROM webhook_receive(
  $1, 'github', $2, $3, $4::jsonb, $5::jsonb, $6, $7, $8::jsonb, $9, $10)`

/** Owns `webhook_deliveries`. */
export class WebhookStore extends Effect.Service<WebhookStore>()("services/stores/WebhookStore", {
  effect: Effect.gen(function*() {
    const direct = yield* DirectQuery
    const span = spanWhen((yield* AppConfig).tracesExported, "WebhookStore.receive")

    /**
     * Records a verified delivery, deduplicated by delivery id, and enqueues its job, in one round
     * trip (migration 0007; the job insert there is JobStore.enqueue's, NOTIFY included). The busiest
     * statement of the service, so it goes through DirectQuery.
     */
    const receive = (d: IncomingDelivery) =>
      Effect.flatMap(
        currentTraceparent,
        (traceparent) =>
          direct.run<{ status: string; job_id: JobId | null; duplicate: boolean }>(RECEIVE, [
            d.repositoryId,
            d.deliveryId,
            d.eventType,
            d.payloadJson,
            JSON.stringify(d.headers),
            d.statusWithoutJob,
            d.job?.type ?? null,
            JSON.stringify(d.job?.payload ?? {}),
            JOBS_CHANNEL,
            traceparent
          ]).pipe(
            Effect.map(([row]): Received => ({ status: row!.status, jobId: row!.job_id, duplicate: row!.duplicate }))
          )
      )

    return {
      receive: (delivery: IncomingDelivery) => receive(delivery).pipe(Effect.orDie, span),
      /**
       * One retention batch: the next `limit` deliveries by id after `after`, of which those received
       * before `cutoff` are deleted, unless their job is one that stays (`indexing_job_retained`,
       * migration 0017). Ids follow time, so the caller stops at the first batch with nothing expired.
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
