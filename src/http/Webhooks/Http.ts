import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import { InvalidDelivery, MAX_WEBHOOK_BYTES } from "../../domain/Webhook.js"
import { Webhooks } from "../../services/Webhooks.js"
import { Api } from "../Api.js"
import { readRawBody } from "../RawBody.js"

// The body is read as bytes exactly once (handleRaw: nothing parsed it before), since the signature
// covers the exact bytes.
const rawBody = (request: HttpServerRequest.HttpServerRequest) =>
  readRawBody(request, MAX_WEBHOOK_BYTES).pipe(
    Effect.catchTag("InvalidRequestBody", (error) => Effect.fail(new InvalidDelivery({ message: error.message })))
  )

export const WebhooksHttpLive = HttpApiBuilder.group(Api, "webhooks", (handlers) =>
  Effect.gen(function*() {
    const webhooks = yield* Webhooks
    return handlers.handleRaw("github", ({ path, request }) =>
      rawBody(request).pipe(
        // Once the whole body is in, a sender that hangs up does not stop its delivery from being recorded.
        Effect.flatMap((body) =>
          Effect.uninterruptible(webhooks.receive({ repositoryId: path.repository_id, headers: request.headers, body }))
        ),
        Effect.map((accepted) => HttpServerResponse.unsafeJson(accepted.body, { status: accepted.httpStatus }))
      ))
  }))
