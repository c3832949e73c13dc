import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Schema from "effect/Schema"
import { JobId } from "./Job.js"

/** GitHub's own limit for a delivery's payload. */
export const MAX_WEBHOOK_BYTES = 25 * 1024 * 1024

export class InvalidSignature extends Schema.TaggedError<InvalidSignature>()("InvalidSignature", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 401 })) {}

export class InvalidDelivery extends Schema.TaggedError<InvalidDelivery>()("InvalidDelivery", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 400 })) {}

export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", {
  message: Schema.String,
  max_bytes: Schema.Number
}, HttpApiSchema.annotations({ status: 413 })) {}

/** 202 queued; 200 duplicate, pong, ignored:<event>. */
export const WebhookOutcome = Schema.Struct({
  status: Schema.String,
  job_id: Schema.optional(JobId)
})
export type WebhookOutcome = typeof WebhookOutcome.Type
