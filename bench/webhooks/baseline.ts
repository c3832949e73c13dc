// The baseline of the webhooks benchmark: bare `node:http` + `pg`, no framework. Each delivery to
// `POST /webhooks/github/:repository_id` does the work of our server: it reads the raw body (at most
// 25 MB), checks X-Hub-Signature-256 in constant time with the repository's secret (held in memory,
// loaded at startup), parses the JSON, routes the event like src/services/Webhooks.ts, and then makes
// ONE round trip: one statement whose data-modifying CTEs do what `webhook_receive`
// does: insert the delivery (ON CONFLICT (provider, delivery_id) DO NOTHING), insert its
// `webhook_update` job when the delivery is new, record the delivery as queued with that job, NOTIFY
// `kotadb_jobs`, and for a duplicate return the job of the first copy.
//
// Self-contained on purpose (imports only `node:*` and `pg`): run.ts transpiles this one file and runs it
// with plain `node`, so no TypeScript loader sits in the baseline's process.
//
// Env: DATABASE_URL, PORT, HOST (default 127.0.0.1), DATABASE_MAX_CONNECTIONS (default 10), and
// WEBHOOK_SECRETS: the path of a JSON file `{ "<repository_id>": "<secret>" }` (the database holds the
// secrets sealed with SECRETS_ENCRYPTION_KEY; a baseline with the plain secrets at hand is the cheaper one).
import { createHmac, timingSafeEqual } from "node:crypto"
import { readFileSync } from "node:fs"
import type { IncomingMessage, ServerResponse } from "node:http"
import { createServer } from "node:http"
import pg from "pg"

// The headers ours puts on every response (src/http/SecurityHeaders.ts), so both write the same bytes.
const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "cache-control": "no-store",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "x-frame-options": "DENY"
}

const MAX_BYTES = 25 * 1024 * 1024
const MAX_HINT_PATHS = 1_000
const ROUTE = /^\/webhooks\/github\/([^/?]*)$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const SHA = /^[0-9a-f]{40}$/
const ZERO_SHA = /^0{40}$/
const REDACTED_HEADERS = new Set(["x-hub-signature", "x-hub-signature-256", "authorization", "cookie", "x-api-key"])

// $1 repository id, $2 delivery id, $3 event, $4 payload (the body's text), $5 headers, $6 the status to
// record (queued, or ignored/processed when no job runs), $7 the job's payload or NULL for no job, $8 the
// body's bytes (kept as received, like ours: `payload_raw`).
// The delivery row is written once, already queued with its job's id: the job's id is drawn first, and
// the foreign key is checked at the end of the statement, when the job row exists.
const RECEIVE_SQL = `
WITH delivery AS (
  INSERT INTO public.webhook_deliveries AS d
    (repository_id, provider, delivery_id, event_type, status, payload, payload_raw, headers, job_id, processed_at)
  VALUES ($1::uuid, 'github', $2, $3, $6, $4::jsonb, $8::bytea, $5::jsonb,
          CASE WHEN $7::jsonb IS NULL THEN NULL ELSE gen_random_uuid() END,
          CASE WHEN $7::jsonb IS NULL THEN now() END)
  ON CONFLICT (provider, delivery_id) DO NOTHING
  RETURNING d.id, d.job_id
), job AS (
  INSERT INTO public.indexing_jobs (id, repository_id, job_type, payload)
  SELECT delivery.job_id, $1::uuid, 'webhook_update', $7::jsonb || jsonb_build_object('webhook_delivery_id', delivery.id)
  FROM delivery WHERE delivery.job_id IS NOT NULL
  RETURNING id, pg_notify('kotadb_jobs', job_type)::text AS notified
)
SELECT false AS duplicate, job.id AS job_id, job.notified FROM job
UNION ALL
SELECT false, NULL, NULL FROM delivery WHERE delivery.job_id IS NULL
UNION ALL
SELECT true, d.job_id, NULL FROM public.webhook_deliveries d
WHERE NOT EXISTS (SELECT 1 FROM delivery) AND d.provider = 'github' AND d.delivery_id = $2`

// A copy of a delivery that is still being inserted by another transaction: the statement above waits
// for it on the unique index and then does nothing, but its snapshot predates that commit. Never seen
// in the bench (every replay is of a delivery already answered); kept so the baseline is correct.
const LOOKUP_SQL = `SELECT job_id FROM public.webhook_deliveries WHERE provider = 'github' AND delivery_id = $1`

interface Repository {
  readonly secret: Buffer
  readonly defaultBranch: string | null
  readonly branches: ReadonlyArray<string>
}

const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.DATABASE_MAX_CONNECTIONS ?? "10")
})
pool.on("error", (error) => process.stderr.write(`baseline: idle client error: ${error.message}\n`))

const repositories = new Map<string, Repository>()

const loadRepositories = async () => {
  const secrets = JSON.parse(readFileSync(process.env.WEBHOOK_SECRETS!, "utf8")) as Record<string, string>
  const { rows } = await pool.query<{ id: string; default_branch: string | null; settings: { branches?: unknown } }>(
    "SELECT id, default_branch, settings FROM public.repositories WHERE id = ANY ($1::uuid[])",
    [Object.keys(secrets)]
  )
  for (const row of rows) {
    const branches = Array.isArray(row.settings?.branches) ? row.settings.branches as Array<string> : []
    repositories.set(row.id, { secret: Buffer.from(secrets[row.id]!), defaultBranch: row.default_branch, branches })
  }
}

const send = (response: ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body)
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...SECURITY_HEADERS
  })
  response.end(text)
}

class Refused {
  constructor(readonly status: number, readonly body: Record<string, unknown>) {}
}

const tooLarge = () =>
  new Refused(413, {
    _tag: "PayloadTooLarge",
    message: `the body is larger than ${MAX_BYTES} bytes`,
    max_bytes: MAX_BYTES
  })
const invalid = (message: string) => new Refused(400, { _tag: "InvalidDelivery", message })

const readBody = (request: IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Array<Buffer> = []
    let size = 0
    request.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BYTES) {
        request.destroy()
        reject(tooLarge())
      } else {
        chunks.push(chunk)
      }
    })
    request.on("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)))
    request.on("error", () => reject(invalid("the request body could not be read")))
  })

const verify = (secret: Buffer, body: Buffer, header: string | undefined) => {
  if (header === undefined || !header.startsWith("sha256=")) return false
  const given = Buffer.from(header.slice(7), "hex")
  const expected = createHmac("sha256", secret).update(body).digest()
  return given.length === expected.length && timingSafeEqual(given, expected)
}

const pathsOf = (commits: unknown, key: "added" | "modified" | "removed") => {
  const paths = new Set<string>()
  if (!Array.isArray(commits)) return []
  for (const commit of commits) {
    const list = (commit as Record<string, unknown> | null)?.[key]
    if (!Array.isArray(list)) continue
    for (const path of list) if (typeof path === "string" && paths.size < MAX_HINT_PATHS) paths.add(path)
  }
  return [...paths]
}

/** The job payload for a push to a tracked branch, "pong" for a ping, else null (ignored). */
const route = (event: string, payload: unknown, repository: Repository): Record<string, unknown> | "pong" | null => {
  if (event === "ping") return "pong"
  if (event !== "push" || typeof payload !== "object" || payload === null) return null
  const push = payload as Record<string, unknown>
  const ref = typeof push.ref === "string" ? push.ref : ""
  if (!ref.startsWith("refs/heads/") || push.deleted === true) return null
  const after = typeof push.after === "string" ? push.after : ""
  if (!SHA.test(after) || ZERO_SHA.test(after)) return null
  const branch = ref.slice("refs/heads/".length)
  const repo = push.repository as Record<string, unknown> | undefined
  const defaultBranch = repository.defaultBranch ??
    (typeof repo?.default_branch === "string" ? repo.default_branch : "main")
  if (branch !== defaultBranch && !repository.branches.includes(branch)) return null
  const before = typeof push.before === "string" && SHA.test(push.before) && !ZERO_SHA.test(push.before)
    ? push.before
    : null
  return {
    ref,
    branch,
    before,
    after,
    forced: push.forced === true,
    changed: {
      added: pathsOf(push.commits, "added"),
      modified: pathsOf(push.commits, "modified"),
      removed: pathsOf(push.commits, "removed")
    }
  }
}

interface ReceiveRow {
  readonly duplicate: boolean
  readonly job_id: string | null
}

const receive = async (request: IncomingMessage, repositoryId: string) => {
  if (Number(request.headers["content-length"] ?? "0") > MAX_BYTES) throw tooLarge()
  const body = await readBody(request)
  const repository = UUID.test(repositoryId) ? repositories.get(repositoryId.toLowerCase()) : undefined
  if (repository === undefined) {
    throw new Refused(404, { _tag: "RepositoryNotFound", message: `no repository ${repositoryId}` })
  }
  const signature = request.headers["x-hub-signature-256"] as string | undefined
  if (!verify(repository.secret, body, signature)) {
    throw new Refused(401, {
      _tag: "InvalidSignature",
      message: signature === undefined ? "missing X-Hub-Signature-256" : "X-Hub-Signature-256 does not match"
    })
  }
  const deliveryId = request.headers["x-github-delivery"] as string | undefined
  const event = request.headers["x-github-event"] as string | undefined
  if (deliveryId === undefined || deliveryId === "" || deliveryId.length > 200) {
    throw invalid("missing or invalid X-GitHub-Delivery")
  }
  if (event === undefined || !/^[a-z][a-z0-9_]{0,99}$/.test(event)) throw invalid("missing or invalid X-GitHub-Event")
  let text = body.toString("utf8")
  const contentType = request.headers["content-type"]
  if (contentType?.startsWith("application/x-www-form-urlencoded")) {
    text = new URLSearchParams(text).get("payload") ?? ""
  }
  let payload: unknown
  try {
    payload = JSON.parse(text)
  } catch {
    throw invalid("the body is not a JSON payload")
  }
  const routing = route(event, payload, repository)
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(request.headers)) {
    if (typeof value === "string") headers[name] = REDACTED_HEADERS.has(name) ? "[redacted]" : value
  }
  const job = routing === null || routing === "pong" ? null : JSON.stringify({ ...routing, delivery_id: deliveryId })
  const { rows } = await pool.query<ReceiveRow>({
    name: "receive",
    text: RECEIVE_SQL,
    values: [
      repositoryId,
      deliveryId,
      event,
      text,
      JSON.stringify(headers),
      job === null ? (routing === "pong" ? "processed" : "ignored") : "queued",
      job,
      body
    ]
  })
  let row = rows[0]
  if (row === undefined) {
    const again = await pool.query<{ job_id: string | null }>({
      name: "lookup",
      text: LOOKUP_SQL,
      values: [deliveryId]
    })
    row = { duplicate: true, job_id: again.rows[0]?.job_id ?? null }
  }
  const jobId = row.job_id === null ? {} : { job_id: row.job_id }
  if (row.duplicate) return [200, { status: "duplicate", ...jobId }] as const
  if (routing === "pong") return [200, { status: "pong" }] as const
  if (routing === null) return [200, { status: `ignored:${event}` }] as const
  return [202, { status: "queued", ...jobId }] as const
}

const server = createServer((request, response) => {
  const path = request.url?.split("?")[0] ?? ""
  const match = request.method === "POST" ? ROUTE.exec(path) : null
  if (match !== null) {
    receive(request, decodeURIComponent(match[1]!)).then(
      ([status, body]) => send(response, status, body),
      (error: unknown) => {
        if (error instanceof Refused) return send(response, error.status, error.body)
        process.stderr.write(`baseline: ${error instanceof Error ? error.stack : String(error)}\n`)
        if (!response.headersSent) send(response, 500, { _tag: "InternalServerError", message: "internal error" })
      }
    )
  } else if (path === "/health/live") {
    send(response, 200, { status: "ok" })
  } else {
    send(response, 404, { _tag: "RouteNotFound", message: `no route for ${request.method} ${path}` })
  }
})

const shutdown = () => {
  server.close(() => void pool.end().then(() => process.exit(0)))
  server.closeIdleConnections()
}
process.on("SIGTERM", shutdown)
process.on("SIGINT", shutdown)

loadRepositories().then(
  () => server.listen(Number(process.env.PORT ?? "8081"), process.env.HOST ?? "127.0.0.1"),
  (error: unknown) => {
    process.stderr.write(`baseline: loading repositories: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  }
)
