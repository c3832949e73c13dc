import { HttpApiBuilder, HttpIncomingMessage, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Option } from "effect"
import { InvalidDelivery, MAX_WEBHOOK_BYTES, PayloadTooLarge } from "../../domain/Webhook.js"
import { Webhooks } from "../../services/Webhooks.js"
import { Api } from "../Api.js"

const tooLarge = new PayloadTooLarge({
  message: `the body is larger than ${MAX_WEBHOOK_BYTES} bytes`,
  max_bytes: MAX_WEBHOOK_BYTES
})

// The body is read as bytes exactly once (handleRaw: nothing parsed it before), since the signature
// covers the exact bytes. A declared length over the limit is refused before reading anything.
const rawBody = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const declared = Number(request.headers["content-length"] ?? "0")
  if (declared > MAX_WEBHOOK_BYTES) return yield* tooLarge
  const bytes = yield* request.arrayBuffer.pipe(
    HttpIncomingMessage.withMaxBodySize(Option.some(MAX_WEBHOOK_BYTES)),
    Effect.catchAll((error): Effect.Effect<never, PayloadTooLarge | InvalidDelivery> =>
      String(error.cause).includes("maxBytes exceeded")
        ? Effect.fail(tooLarge)
        : Effect.fail(new InvalidDelivery({ message: "the request body could not be read" }))
    )
  )
  return new Uint8Array(bytes)
})

export const WebhooksHttpLive = HttpApiBuilder.group(Api, "webhooks", (handlers) =>
  Effect.gen(function*() {
    const webhooks = yield* Webhooks
    return handlers.handleRaw("github", ({ path }) =>
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const body = yield* rawBody
        // Once the whole body is in, a sender that hangs up does not stop its delivery from being recorded.
        const accepted = yield* webhooks.receive({ repositoryId: path.repository_id, headers: request.headers, body })
          .pipe(
            Effect.uninterruptible
          )
        return HttpServerResponse.unsafeJson(accepted.body, { status: accepted.httpStatus })
      }))
  }))
