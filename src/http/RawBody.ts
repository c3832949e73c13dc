import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import type { IncomingMessage } from "node:http"
import { InvalidRequestBody } from "../domain/HttpErrors.js"
import { PayloadTooLarge } from "../domain/Webhook.js"

const tooLarge = (maxBytes: number) =>
  new PayloadTooLarge({ message: `the body is larger than ${maxBytes} bytes`, max_bytes: maxBytes })

type BodyError = PayloadTooLarge | InvalidRequestBody

/** Collects the body and calls `done` once, unless detached first (the returned function). */
const collect = (
  source: IncomingMessage,
  maxBytes: number,
  done: (error: BodyError | undefined, body: Buffer | undefined) => void
) => {
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
    done(tooLarge(maxBytes), undefined)
  }
  const onEnd = () => {
    detach()
    done(undefined, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size))
  }
  const onError = () => {
    detach()
    done(new InvalidRequestBody({ message: "the request body could not be read" }), undefined)
  }
  // A sender that hangs up mid-body: 'close' before 'end'.
  const onClose = () => {
    if (!source.complete) onError()
  }
  source.on("data", onData)
  source.on("end", onEnd)
  source.on("error", onError)
  source.on("close", onClose)
  return detach
}

const read = (source: IncomingMessage, maxBytes: number) =>
  Effect.async<Buffer, BodyError>((resume) =>
    Effect.sync(
      collect(
        source,
        maxBytes,
        (error, body) => resume(error === undefined ? Effect.succeed(body!) : Effect.fail(error))
      )
    )
  )

/**
 * The body's bytes, read once straight off the Node request and bounded while streaming: past `maxBytes`
 * (or a declared length over it) a 413, and the rest is discarded unread. The chunks are joined once at
 * the end: the platform's reader concatenates on every chunk, quadratic in a body of many megabytes.
 */
export const readRawBody = (request: HttpServerRequest.HttpServerRequest, maxBytes: number) => {
  const source = NodeHttpServerRequest.toIncomingMessage(request)
  return Number(source.headers["content-length"] ?? "0") > maxBytes
    ? Effect.fail(tooLarge(maxBytes))
    : read(source, maxBytes)
}

/**
 * `readRawBody` for a node route (src/http/NodeServer.ts), which has no platform request and no fiber
 * yet: `done` is called once, with the body or the refusal.
 */
export const readNodeBody = (
  source: IncomingMessage,
  maxBytes: number,
  done: (error: BodyError | undefined, body: Buffer | undefined) => void
): void => {
  if (Number(source.headers["content-length"] ?? "0") > maxBytes) return done(tooLarge(maxBytes), undefined)
  collect(source, maxBytes, done)
}
