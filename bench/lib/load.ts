// HTTP load with autocannon (keep-alive, no pipelining), latencies kept per request at full precision.
import autocannon from "autocannon"

export interface LoadOptions {
  readonly url: string
  readonly connections: number
  readonly seconds: number
  /** Headers of the next request; called once per request, in order. */
  readonly headers: () => Record<string, string>
}

export interface LoadResult {
  readonly seconds: number
  readonly ok: number
  readonly non2xx: number
  readonly errors: number
  readonly timeouts: number
  /** 2xx responses whose body `rejectBody` refused (an MCP tool error is a 200): not counted in `ok`. */
  readonly rejected: number
  readonly statusCodes: Record<string, number>
  readonly reqPerSec: number
  readonly p50Ms: number
  readonly p99Ms: number
}

const percentile = (sorted: Float64Array, q: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!

/** autocannon on `url` with these request builders; every bench's load goes through here. */
export const runAutocannon = (options: {
  readonly url: string
  readonly connections: number
  readonly seconds: number
  readonly requests: Array<autocannon.Request>
  /** A 2xx whose body this refuses is a failure, not a served request; its latency is still kept. */
  readonly rejectBody?: (body: string) => boolean
}) =>
  new Promise<LoadResult>((resolve, reject) => {
    let rejected = 0
    const rejectBody = options.rejectBody
    const requests = rejectBody === undefined ? options.requests : options.requests.map((request) => ({
      ...request,
      onResponse: (status: number, body: string) => {
        if (status >= 200 && status <= 299 && rejectBody(body)) rejected++
      }
    }))
    // Latencies of 2xx responses only, in ms, as measured by autocannon's client (write to last byte).
    let latencies = new Float64Array(1 << 16)
    let count = 0
    const instance = autocannon({
      url: options.url,
      connections: options.connections,
      pipelining: 1,
      duration: options.seconds,
      timeout: 10,
      requests
    }, (error, result) => {
      if (error !== null && error !== undefined) return reject(error)
      const sorted = latencies.subarray(0, count).sort()
      resolve({
        seconds: result.duration,
        ok: result["2xx"] - rejected,
        non2xx: result.non2xx,
        errors: result.errors,
        timeouts: result.timeouts,
        rejected,
        statusCodes: Object.fromEntries(
          Object.entries(result.statusCodeStats ?? {}).map(([code, stats]) => [code, stats.count ?? 0])
        ),
        reqPerSec: (result["2xx"] - rejected) / result.duration,
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

export const runLoad = (options: LoadOptions) =>
  runAutocannon({
    url: options.url,
    connections: options.connections,
    seconds: options.seconds,
    requests: [{
      method: "GET",
      setupRequest: (request) => ({ ...request, headers: { ...request.headers, ...options.headers() } })
    }]
  })
