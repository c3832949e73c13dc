import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect } from "effect"
import type { JobId, JobType } from "../../domain/Job.js"
import { currentTraceparent } from "../TraceContext.js"
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

/** Owns `webhook_deliveries`. */
export class WebhookStore extends Effect.Service<WebhookStore>()("services/stores/WebhookStore", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const pg = yield* PgClient.PgClient

    /**
     * Records a verified delivery, deduplicated by delivery id, and enqueues its job, in one round
     * trip (migration 0007; the job insert there is JobStore.enqueue's, NOTIFY included).
     */
    const receive = (d: IncomingDelivery) =>
      Effect.flatMap(currentTraceparent, (traceparent) =>
        sql<Received>`
          SELECT status, job_id, duplicate FROM webhook_receive(
            ${d.repositoryId}, 'github', ${d.deliveryId}, ${d.eventType}, ${d.payloadJson}::jsonb, ${
          pg.json(d.headers)
        },
            ${d.statusWithoutJob}, ${d.job?.type ?? null}, ${pg.json(d.job?.payload ?? {})}, ${JOBS_CHANNEL},
            ${traceparent})`.pipe(Effect.map((rows) => rows[0]!)))

    return {
      receive: (delivery: IncomingDelivery) =>
        receive(delivery).pipe(
          Effect.orDie,
          Effect.withSpan("WebhookStore.receive", { captureStackTrace: false })
        )
    } as const
  })
}) {}
