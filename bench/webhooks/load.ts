// POST load for the webhooks benchmark, through bench/lib/load.ts (keep-alive, no pipelining, exact
// latencies of 2xx responses), but each request has its own path, headers and body, and each response is
// handed back with the request it answers (one connection carries one request at a time).
import { runAutocannon } from "../lib/load.js"

export interface Shot<T> {
  readonly path: string
  readonly headers: Record<string, string>
  readonly body: Buffer
  /** What the check needs to know about this request (handed back with its response). */
  readonly tag: T
}

export interface PostLoadOptions<T> {
  /** The server's origin, `http://host:port`. */
  readonly origin: string
  readonly connections: number
  readonly seconds: number
  /** The next request; called once per request sent, in order. */
  readonly next: () => Shot<T>
  /** Called with every complete response (status and body) and the tag of its request. */
  readonly check: (tag: T, status: number, body: string) => void
}

interface Context {
  tag?: unknown
}

export const runPostLoad = <T>(options: PostLoadOptions<T>) =>
  runAutocannon({
    url: `${options.origin}/`,
    connections: options.connections,
    seconds: options.seconds,
    requests: [{
      // autocannon builds each request here, right before writing it, with a fresh context per
      // request; the same context comes back with the response (to onResponse, before the next build).
      setupRequest: (request, context) => {
        const shot = options.next()
        ;(context as Context).tag = shot.tag
        return {
          ...request,
          method: "POST",
          path: shot.path,
          headers: { ...request.headers, ...shot.headers },
          body: shot.body
        }
      },
      onResponse: (status, body, context) => options.check((context as Context).tag as T, status, body)
    }]
  })
