// POST load with autocannon for the webhooks benchmark: like bench/lib/load.ts (keep-alive, no pipelining,
// exact latencies of 2xx responses), but each request has its own path, headers and body, and each
// response is handed back with the request it answers (one connection carries one request at a time).
import autocannon from "autocannon"
import type { LoadResult } from "../lib/load.js"

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

const percentile = (sorted: Float64Array, q: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!

interface Context {
  tag?: unknown
}

export const runPostLoad = <T>(options: PostLoadOptions<T>) =>
  new Promise<LoadResult>((resolve, reject) => {
    let latencies = new Float64Array(1 << 16)
    let count = 0
    const instance = autocannon({
      url: `${options.origin}/`,
      connections: options.connections,
      pipelining: 1,
      duration: options.seconds,
      timeout: 10,
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
    }, (error, result) => {
      if (error !== null && error !== undefined) return reject(error)
      const sorted = latencies.subarray(0, count).sort()
      resolve({
        seconds: result.duration,
        ok: result["2xx"],
        non2xx: result.non2xx,
        errors: result.errors,
        timeouts: result.timeouts,
        statusCodes: Object.fromEntries(
          Object.entries(result.statusCodeStats ?? {}).map(([code, stats]) => [code, stats.count ?? 0])
        ),
        reqPerSec: result["2xx"] / result.duration,
        p50Ms: percentile(sorted, 0.5),
        p99Ms: percentile(sorted, 0.99)
      })
    })
    // autocannon emits (client, statusCode, bytes, responseTime); its typings omit the client.
    instance.on("response", (...args: Array<unknown>) => {
      const status = args[1] as number
      if (status < 200 || status > 299) return
      if (count === latencies.length) {
        const grown = new Float64Array(latencies.length * 2)
        grown.set(latencies)
        latencies = grown
      }
      latencies[count++] = args[3] as number
    })
  })
