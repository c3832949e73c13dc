import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { IncomingMessage } from "node:http"
import { PayloadTooLarge } from "../domain/Webhook.js"
import { AppConfig } from "../services/AppConfig.js"

const limited = new WeakSet<IncomingMessage>()

/**
 * node's request, except that when the platform's body reader gives up on a body over the limit (it
 * destroys the request), the connection survives long enough to carry the 413; that response closes
 * it. A client that went away, or any request not under the limit, is destroyed as node would.
 */
export class LimitedIncomingMessage extends IncomingMessage {
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (limited.has(this) && !this.complete && !this.socket.destroyed) {
      process.nextTick(callback, this.listenerCount("error") === 0 ? null : error)
      return
    }
    super._destroy(error, callback)
  }
}

// Its handler reads the raw bytes itself, under its own 25 MB limit.
const WEBHOOK = /^\/webhooks\/github\/[^/?]*(?:\?|$)/

/**
 * `HTTP_BODY_LIMIT` on every route but the GitHub webhook: a declared `Content-Length` over it is
 * refused before the body is read, and a body without one (chunked) is counted while it streams and
 * refused as soon as it passes the limit. Both are 413 and close the connection, so that the rest of
 * an oversized body is never read.
 */
export const BodyLimitLive = HttpLayerRouter.middleware(
  Effect.map(AppConfig, (config) => {
    const limit = config.httpBodyLimit
    const maxBodySize = Option.some(limit)
    const tooLarge = HttpServerResponse.unsafeJson(
      new PayloadTooLarge({ message: `the body is larger than ${limit} bytes`, max_bytes: limit }),
      { status: 413, headers: { connection: "close" } }
    )
    return (app) =>
      Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
        const length = request.headers["content-length"]
        // Without either header a request has no body (RFC 9112, 6.3): nothing to limit.
        if (length === undefined && request.headers["transfer-encoding"] === undefined) return app
        if (request.method === "POST" && WEBHOOK.test(request.url)) return app
        if (Number(length ?? 0) > limit) return Effect.succeed(tooLarge)
        const source = NodeHttpServerRequest.toIncomingMessage(request)
        limited.add(source)
        return Effect.flatMap(
          Effect.exit(HttpServerRequest.withMaxBodySize(app, maxBodySize)),
          // A reader gave up part-way through a body whose sender is still there: only the limit does that.
          (exit) => source.destroyed && !source.complete && !source.socket.destroyed ? Effect.succeed(tooLarge) : exit
        )
      })
  }),
  { global: true }
)
