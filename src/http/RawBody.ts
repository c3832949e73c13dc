import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import type { IncomingMessage } from "node:http"
import { InvalidRequestBody } from "../domain/HttpErrors.js"
import { PayloadTooLarge } from "../domain/Webhook.js"

const tooLarge = (maxBytes: number) =>
  new PayloadTooLarge({ message: `the body is larger than ${maxBytes} bytes`, max_bytes: maxBytes })

const read = (source: IncomingMessage, maxBytes: number) =>
  Effect.async<Buffer, PayloadTooLarge | InvalidRequestBody>((resume) => {
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
      if (size <= maxBytes) return void chunks.push(chunk)
      detach()
      chunks.length = 0
      source.resume()
      resume(Effect.fail(tooLarge(maxBytes)))
    }
    const onEnd = () => {
      detach()
      resume(Effect.succeed(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)))
    }
    const onError = () => {
      detach()
      resume(Effect.fail(new InvalidRequestBody({ message: "the request body could not be read" })))
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

/**
 * The body's bytes, read once straight off the Node request and bounded while streaming: past `maxBytes`
 * (or a declared length over it) a 413, and the rest is discarded unread. The chunks are joined once at
 * the end: the platform's reader concatenates on every chunk, quadratic in a body of many megabytes.
 */
export const readRawBody = (request: HttpServerRequest.HttpServerRequest, maxBytes: number) =>
  readNodeBody(NodeHttpServerRequest.toIncomingMessage(request), maxBytes)

/** `readRawBody` for a node route (src/http/NodeServer.ts), which has no platform request. */
export const readNodeBody = (source: IncomingMessage, maxBytes: number) =>
  Number(source.headers["content-length"] ?? "0") > maxBytes ? Effect.fail(tooLarge(maxBytes)) : read(source, maxBytes)
