import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import type { IncomingMessage } from "node:http"
import { InvalidDelivery, MAX_WEBHOOK_BYTES, PayloadTooLarge } from "../../domain/Webhook.js"
import { Webhooks } from "../../services/Webhooks.js"
import { Api } from "../Api.js"

const tooLarge = new PayloadTooLarge({
  message: `the body is larger than ${MAX_WEBHOOK_BYTES} bytes`,
  max_bytes: MAX_WEBHOOK_BYTES
})

/**
 * The body's bytes, read straight off the Node request: the chunks are joined once at the end (the
 * platform's reader concatenates on every chunk, which is quadratic in a body of many megabytes). Past
 * the limit the rest of the body is discarded unread while the 413 is answered.
 */
const readBody = (source: IncomingMessage) =>
  Effect.async<Uint8Array, PayloadTooLarge | InvalidDelivery>((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    const detach = () => {
      source.off("data", onData)
      source.off("end", onEnd)
      source.off("error", onError)
      source.off("close", onClose)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size <= MAX_WEBHOOK_BYTES) return void chunks.push(chunk)
      detach()
      chunks.length = 0
      source.resume()
      resume(Effect.fail(tooLarge))
    }
    const onEnd = () => {
      detach()
      resume(Effect.succeed(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)))
    }
    const onError = () => {
      detach()
      resume(Effect.fail(new InvalidDelivery({ message: "the request body could not be read" })))
    }
    // A sender that hangs up mid-body: 'close' before 'end'.
    const onClose = () => {
      if (!source.complete) onError()
    }
    source.on("data", onData)
    source.on("end", onEnd)
    source.on("error", onError)
    source.on("close", onClose)
    return Effect.sync(detach)
  })

// The body is read as bytes exactly once (handleRaw: nothing parsed it before), since the signature
// covers the exact bytes. A declared length over the limit is refused before reading anything.
const rawBody = (request: HttpServerRequest.HttpServerRequest) =>
  Number(request.headers["content-length"] ?? "0") > MAX_WEBHOOK_BYTES
    ? Effect.fail(tooLarge)
    : readBody(NodeHttpServerRequest.toIncomingMessage(request))

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
