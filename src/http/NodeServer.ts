import type { IncomingMessage, Server, ServerResponse } from "node:http"
import { createServer, STATUS_CODES } from "node:http"
import type { Duplex } from "node:stream"

/**
 * The node:http server, with requests Node refuses before any handler runs (oversized headers or
 * URL: 431; malformed HTTP: 400) answered in the one error shape instead of an empty body, and
 * requests that arrive once shutdown has removed the app's handler answered 503.
 */
export const createNodeServer = (): Server => {
  const server = createServer()
  // On shutdown @effect/platform-node removes its request listener before it calls close(), and Node
  // still reads requests from connections it already holds (a proxy's kept-alive ones). Unanswered,
  // such a request would keep close() from finishing and the process from exiting until SIGKILL.
  server.on("request", (_request: IncomingMessage, response: ServerResponse) => {
    if (server.listenerCount("request") > 1) return
    const body = JSON.stringify({ _tag: "ShuttingDown", message: "the server is shutting down; retry the request" })
    response.writeHead(503, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      connection: "close"
    }).end(body)
  })
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === "ECONNRESET" || !socket.writable) {
      socket.destroy()
      return
    }
    const tooLarge = error.code === "HPE_HEADER_OVERFLOW"
    const status = tooLarge ? 431 : 400
    const body = JSON.stringify(
      tooLarge
        ? { _tag: "RequestHeaderFieldsTooLarge", message: "the request line or headers are too large" }
        : { _tag: "MalformedRequest", message: "the request is not valid HTTP/1.1" }
    )
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
    )
  })
  return server
}
