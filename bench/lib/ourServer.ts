// Our server from dist/ as a child process, with production's node flags, on a scratch database, and the
// few API calls a bench needs to set it up: an API key, a repository registered and indexed through the API.
import { productionNodeFlags, profileArgs } from "./node.js"
import type { Server } from "./processes.js"
import { freePort, HOST, sleep, startServer, waitReady } from "./processes.js"

export const INTERNAL_API_KEY = "bench-internal-key-0123456789abcdef"

export interface OurServer {
  readonly server: Server
  /** One JSON request: `key` is a tenant's API key, else the internal key is sent; `headers` add to those. */
  readonly call: <T>(
    path: string,
    init?: RequestInit & { readonly key?: string }
  ) => Promise<{ readonly status: number; readonly body: T }>
  /** A new user's API key, with limits no bench reaches. */
  readonly createKey: (email: string) => Promise<string>
  /** Polls job `jobId` until it completes (its result), throwing if it fails or is cancelled; `what` names it. */
  readonly waitForJob: (key: string, jobId: string, what: string) => Promise<unknown>
  /** Registers `gitUrl` for the key's user and waits for its index job: the repository, the job's result, seconds. */
  readonly register: (key: string, gitUrl: string) => Promise<{
    readonly repositoryId: string
    readonly result: unknown
    readonly seconds: number
  }>
}

/**
 * Starts dist/src/main.js (the caller runs `ensureBuilt` first) on `databaseUrl`, its job worker on, its
 * metrics listener off, loopback git allowed; `env` adds or overrides variables. Resolves once it is live.
 */
export const startOurServer = async (options: {
  readonly root: string
  readonly databaseUrl: string
  readonly name?: string
  readonly env?: NodeJS.ProcessEnv
  readonly readyTimeoutMs?: number
}): Promise<OurServer> => {
  const name = options.name ?? "ours"
  const port = await freePort()
  const server = startServer(name, [...productionNodeFlags(options.root), ...profileArgs(name), "dist/src/main.js"], {
    cwd: options.root,
    port,
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: options.databaseUrl,
      PORT: String(port),
      HOST,
      KOTADB_WEBHOOK_BASE_URL: `http://${HOST}`,
      SECRETS_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString("base64"),
      INTERNAL_API_KEY,
      GIT_ALLOW_PRIVATE_HOSTS: "true",
      METRICS_PORT: "0",
      LOG_LEVEL: "warning",
      ...options.env
    }
  })
  try {
    await waitReady(server, "/health/live", options.readyTimeoutMs ?? 60_000)
  } catch (error) {
    await server.stop()
    throw new Error(`${error instanceof Error ? error.message : String(error)}; its last output:\n${server.output()}`, {
      cause: error
    })
  }

  const call: OurServer["call"] = async (path, init = {}) => {
    const { key, ...rest } = init
    const headers = new Headers(rest.headers)
    if (!headers.has("content-type")) headers.set("content-type", "application/json")
    if (key !== undefined) headers.set("x-api-key", key)
    else headers.set("x-internal-key", INTERNAL_API_KEY)
    // A keep-alive connection the server closes as a request leaves on it fails with "fetch failed":
    // that request is sent again, once.
    const send = () => fetch(`http://${HOST}:${port}${path}`, { ...rest, headers })
    const response = await send().catch(send)
    const text = await response.text()
    return { status: response.status, body: (text === "" ? null : JSON.parse(text)) }
  }

  const createKey = async (email: string) => {
    const { body, status } = await call<{ api_key: string }>("/internal/api-keys", {
      method: "POST",
      body: JSON.stringify({ user_email: email, rate_limit: 100_000, monthly_quota: 1e12 })
    })
    if (status !== 201) throw new Error(`creating a key: ${status} ${JSON.stringify(body)}`)
    return body.api_key
  }

  const waitForJob = async (key: string, jobId: string, what: string) => {
    for (;;) {
      const job = await call<{ status: string; result?: unknown; error_message?: string }>(`/api/v1/jobs/${jobId}`, {
        key
      })
      if (job.body.status === "completed") return job.body.result
      if (job.body.status === "failed" || job.body.status === "cancelled") {
        throw new Error(`indexing ${what}: ${job.body.status} ${job.body.error_message ?? ""}`)
      }
      await sleep(250)
    }
  }

  const register = async (key: string, gitUrl: string) => {
    const started = Date.now()
    const { body, status } = await call<{ repository_id: string; job_id: string }>("/api/v1/repositories", {
      method: "POST",
      key,
      body: JSON.stringify({ git_url: gitUrl })
    })
    if (status !== 201) throw new Error(`registering ${gitUrl}: ${status} ${JSON.stringify(body)}`)
    const result = await waitForJob(key, body.job_id, gitUrl)
    return { repositoryId: body.repository_id, result, seconds: (Date.now() - started) / 1000 }
  }

  return { server, call, createKey, waitForJob, register }
}
