import * as Context from "effect/Context"
import type { IncomingMessage, Server, ServerResponse } from "node:http"
import { createServer, STATUS_CODES } from "node:http"
import type { Duplex } from "node:stream"
import { LimitedIncomingMessage } from "./BodyLimit.js"
import { SECURITY_HEADER_LINES, setSecurityHeaders } from "./SecurityHeaders.js"

export interface NodeServerTimeouts {
  /** Time to receive the request line and headers. */
  readonly headersTimeout: number
  /** Time to receive the whole request, body included (a 25 MB webhook must fit). */
  readonly requestTimeout: number
  /** How long an idle keep-alive connection is kept. */
  readonly keepAliveTimeout: number
}

/**
 * A route node:http answers itself, before the platform's router sees the request: true when it took the
 * request. Only for a route whose per-request cost in the Effect HTTP stack decides a SPEC bar (the GitHub
 * webhook, bench/README.md): such a route does its own error shape, metrics and request span.
 */
export type NodeRoute = (request: IncomingMessage, response: ServerResponse) => boolean

/** The node routes of the server (src/layers/Http.ts). */
export class NodeRoutes extends Context.Tag("http/NodeRoutes")<NodeRoutes, ReadonlyArray<NodeRoute>>() {}

const REFUSALS: Record<string, { readonly status: number; readonly _tag: string; readonly message: string }> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    _tag: "RequestHeaderFieldsTooLarge",
    message: "the request line or headers are too large"
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    _tag: "RequestTimeout",
    message: "the request headers or body were not received in time"
  }
}

/**
 * The node:http server, with requests Node refuses before any handler runs (oversized headers or
 * URL: 431; headers or body too slow: 408; malformed HTTP: 400) answered in the one error shape
 * instead of an empty body, the security headers on every response, and requests that arrive once
 * shutdown has removed the app's handler answered 503. Without timeouts, node's own apply.
 */
export const createNodeServer = (
  timeouts?: NodeServerTimeouts,
  routes: ReadonlyArray<NodeRoute> = []
): Server => {
  const server = createServer({
    IncomingMessage: LimitedIncomingMessage,
    ...(timeouts === undefined ? {} : {
      headersTimeout: timeouts.headersTimeout,
      requestTimeout: timeouts.requestTimeout,
      keepAliveTimeout: timeouts.keepAliveTimeout,
      // node checks the two timeouts only this often (30 s by default).
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(timeouts.headersTimeout / 4)))
    })
  })
  const responses = new WeakMap<Duplex, ServerResponse>()
  // Every request passes here before any "request" listener; a node route that takes it is the only
  // handler to see it.
  const emit = server.emit
  server.emit = function(this: Server, event: string | symbol, ...args: Array<unknown>) {
    if (event === "request") {
      const request = args[0] as IncomingMessage
      const response = args[1] as ServerResponse
      setSecurityHeaders(response)
      responses.set(request.socket, response)
      // Once shutdown removed the app's listener, the one left answers 503 (below).
      if (server.listenerCount("request") > 1) {
        for (const route of routes) if (route(request, response)) return true
      }
    }
    return emit.apply(this, [event, ...args] as Parameters<Server["emit"]>)
  } as Server["emit"]
  server.on("request", (_request, response) => {
    // On shutdown @effect/platform-node removes its request listener before it calls close(), and Node
    // still reads requests from connections it already holds (a proxy's kept-alive ones). Unanswered,
    // such a request would keep close() from finishing and the process from exiting until SIGKILL.
    if (server.listenerCount("request") > 1) return
    const body = JSON.stringify({ _tag: "ShuttingDown", message: "the server is shutting down; retry the request" })
    response.writeHead(503, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      connection: "close"
    }).end(body)
  })
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
    const inFlight = responses.get(socket)
    // A timeout can strike while a response is half written: a refusal in the middle would corrupt it.
    if (error.code === "ECONNRESET" || !socket.writable || (inFlight?.headersSent && !inFlight.writableEnded)) {
      socket.destroy()
      return
    }
    const refusal = REFUSALS[error.code ?? ""] ??
      { status: 400, _tag: "MalformedRequest", message: "the request is not valid HTTP/1.1" }
    const body = JSON.stringify({ _tag: refusal._tag, message: refusal.message })
    socket.end(
      `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}\r\ncontent-type: application/json\r\n` +
        SECURITY_HEADER_LINES +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      // A slow sender would otherwise keep the half-closed connection, and node reading from it.
      () => socket.destroy()
    )
  })
  return server
}
