// The baseline of the auth benchmark: bare `node:http` + `pg`, no framework and no cache. Each request to
// `GET /api/v1/me` does the same work as our server, in ONE round trip: key lookup by SHA-256 hash, the
// rate limit (the same ring of per-second counters in `api_key_rate_limits.counts`), the quota and usage
// counters on `api_keys`, and the audit row in `api_key_usage` with its monthly counter, as one statement
// of data-modifying CTEs.
//
// Self-contained on purpose (imports only `node:*` and `pg`): run.ts transpiles this one file and runs it
// with plain `node`, so no TypeScript loader sits in the baseline's process.
//
// Env: DATABASE_URL, PORT, HOST (default 127.0.0.1), DATABASE_MAX_CONNECTIONS (default 10).
import { createHash } from "node:crypto"
import type { IncomingMessage, ServerResponse } from "node:http"
import { createServer } from "node:http"
import { isIP } from "node:net"
import { crc32 } from "node:zlib"
import pg from "pg"

// The headers ours puts on every response (src/http/SecurityHeaders.ts), so both write the same bytes.
const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "cache-control": "no-store",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "x-frame-options": "DENY"
}

const ROUTE = "/api/v1/me"

// The key format of src/domain/ApiKeyFormat.ts: kdb_live_ + 22 base62 characters + a base62 CRC32.
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
const PREFIX = "kdb_live_"
const RANDOM_LENGTH = 22
const CHECKSUM_LENGTH = 6
const SHAPE = new RegExp(`^${PREFIX}[0-9A-Za-z]{${RANDOM_LENGTH + CHECKSUM_LENGTH}}$`)

const checksum = (random: string) => {
  let out = ""
  for (let v = crc32(random); out.length < CHECKSUM_LENGTH; v = Math.floor(v / 62)) out = ALPHABET[v % 62] + out
  return out
}

/** The SHA-256 hex of a well-formed key, or null for a malformed key or a bad checksum. */
const hashOf = (candidate: string): string | null => {
  if (!SHAPE.test(candidate)) return null
  const random = candidate.slice(PREFIX.length, PREFIX.length + RANDOM_LENGTH)
  if (checksum(random) !== candidate.slice(PREFIX.length + RANDOM_LENGTH)) return null
  return createHash("sha256").update(candidate).digest("hex")
}

// $1 key hash, $2 now (epoch ms), $3 first day of the UTC month, $4 route, $5 method, $6 latency so far,
// $7 client ip, $8 user agent. Same work as ApiKeyStore.consumeBatch and UsageStore.insertBatch, plus
// the lookup by hash in front and the audit insert behind.
const AUTH_SQL = `
WITH k AS (
  SELECT id, user_id, rate_limit, scopes,
         (usage_period_start < $3::date OR monthly_usage < monthly_quota) AS quota_ok
  FROM api_keys
  WHERE key_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
), hit AS (
  -- The ring of 61 per-second counters (migration 0017): the slots of seconds that left the ring are
  -- emptied, the request is counted in the current second, unless the ring already holds the limit.
  INSERT INTO api_key_rate_limits AS r (key_id, head, counts)
  SELECT k.id, $2::bigint / 1000, ARRAY(SELECT (i = ($2::bigint / 1000) % 61 + 1)::int FROM generate_series(1, 61) i)
  FROM k WHERE k.quota_ok
  ON CONFLICT (key_id) DO UPDATE
    SET head = greatest(r.head, $2::bigint / 1000),
        counts = ARRAY(
          SELECT CASE WHEN r.head - ((r.head - (i - 1)) % 61) > greatest(r.head, $2::bigint / 1000) - 61
                      THEN coalesce(r.counts[i], 0) ELSE 0 END
                 + (i = greatest(r.head, $2::bigint / 1000) % 61 + 1)::int
          FROM generate_series(1, 61) i ORDER BY i),
        updated_at = now()
    WHERE (SELECT coalesce(sum(r.counts[i]), 0) FROM generate_series(1, 61) i
           WHERE r.head - ((r.head - (i - 1)) % 61) > greatest(r.head, $2::bigint / 1000) - 61)
          < (SELECT rate_limit FROM k)
  RETURNING (SELECT sum(c) FROM unnest(r.counts) c)::int AS used,
            (SELECT min(r.head - ((r.head - (i - 1)) % 61)) FROM generate_series(1, 61) i WHERE r.counts[i] > 0)
              AS oldest_second
), usage AS (
  UPDATE api_keys SET
    monthly_usage = CASE WHEN usage_period_start < $3::date THEN 1 ELSE monthly_usage + 1 END,
    usage_period_start = greatest(usage_period_start, $3::date),
    total_usage = total_usage + 1,
    last_used_at = now()
  WHERE id = (SELECT id FROM k) AND EXISTS (SELECT 1 FROM hit)
    AND (usage_period_start < $3::date OR monthly_usage < monthly_quota)
  RETURNING monthly_usage::float8 AS monthly_usage, monthly_quota::float8 AS monthly_quota
), outcome AS (
  SELECT CASE
    WHEN NOT EXISTS (SELECT 1 FROM k) THEN 'unauthorized'
    WHEN NOT (SELECT quota_ok FROM k) THEN 'quota_exceeded'
    WHEN NOT EXISTS (SELECT 1 FROM hit) THEN 'rate_limited'
    WHEN NOT EXISTS (SELECT 1 FROM usage) THEN 'quota_exceeded'
    ELSE 'ok'
  END AS o
), audit AS (
  INSERT INTO api_key_usage (key_id, user_id, route, method, status, latency_ms, ip, user_agent, outcome)
  SELECT CASE WHEN o = 'ok' THEN (SELECT id FROM k) END, CASE WHEN o = 'ok' THEN (SELECT user_id FROM k) END,
         $4, $5, CASE o WHEN 'ok' THEN 200 WHEN 'unauthorized' THEN 401 ELSE 429 END,
         $6::float8, $7::inet, $8, o
  FROM outcome
), counted AS (
  INSERT INTO api_key_usage_monthly AS c (key_id, month, outcome, requests)
  SELECT (SELECT id FROM k), $3::date, o, 1 FROM outcome WHERE o = 'ok'
  ON CONFLICT (key_id, month, outcome) DO UPDATE SET requests = c.requests + 1
)
SELECT (SELECT o FROM outcome) AS outcome, (SELECT id FROM k) AS key_id, (SELECT user_id FROM k) AS user_id,
       (SELECT scopes FROM k) AS scopes,
       (SELECT rate_limit FROM k) AS rate_limit, (SELECT used FROM hit) AS used,
       (SELECT oldest_second::text FROM hit) AS oldest_second,
       (SELECT monthly_usage FROM usage) AS monthly_usage, (SELECT monthly_quota FROM usage) AS monthly_quota`

// A malformed key never reaches the lookup, but is audited all the same.
const AUDIT_SQL = `
INSERT INTO api_key_usage (key_id, user_id, route, method, status, latency_ms, ip, user_agent, outcome)
VALUES (NULL, NULL, $1, $2, 401, $3::float8, $4::inet, $5, 'unauthorized')`

interface AuthRow {
  readonly outcome: "ok" | "unauthorized" | "rate_limited" | "quota_exceeded"
  readonly key_id: string | null
  readonly scopes: Array<string> | null
  readonly user_id: string | null
  readonly rate_limit: number | null
  readonly used: number | null
  readonly oldest_second: string | null
  readonly monthly_usage: number | null
  readonly monthly_quota: number | null
}

const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.DATABASE_MAX_CONNECTIONS ?? "10")
})
pool.on("error", (error) => process.stderr.write(`baseline: idle client error: ${error.message}\n`))

const monthStart = (nowMs: number) => {
  const now = new Date(nowMs)
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString().slice(0, 10)
}

const secondsToNextMonth = (nowMs: number) => {
  const now = new Date(nowMs)
  return Math.ceil((Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1) - nowMs) / 1000)
}

const clientIp = (request: IncomingMessage) => {
  const ip = request.socket.remoteAddress
  if (ip === undefined) return null
  const plain = /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(ip) ? ip.slice(7) : ip
  return isIP(plain) === 0 ? null : plain
}

const presentedKey = (request: IncomingMessage) => {
  const header = request.headers["x-api-key"]
  if (typeof header === "string" && header !== "") return header.trim()
  const authorization = request.headers.authorization
  if (authorization !== undefined && /^Bearer /i.test(authorization)) return authorization.slice(7).trim()
  return undefined
}

const send = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  const text = JSON.stringify(body)
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...SECURITY_HEADERS,
    ...headers
  })
  response.end(text)
}

const userAgentOf = (request: IncomingMessage) => request.headers["user-agent"]?.slice(0, 512) ?? null

const me = async (request: IncomingMessage, response: ServerResponse, started: number) => {
  const ip = clientIp(request)
  const presented = presentedKey(request)
  const hash = presented === undefined ? null : hashOf(presented)
  if (hash === null) {
    await pool.query({
      name: "audit",
      text: AUDIT_SQL,
      values: [ROUTE, request.method, performance.now() - started, ip, userAgentOf(request)]
    })
    return send(response, 401, { _tag: "Unauthorized", message: "invalid API key" })
  }
  const nowMs = Date.now()
  const result = await pool.query<AuthRow>({
    name: "auth",
    text: AUTH_SQL,
    values: [
      hash,
      nowMs,
      monthStart(nowMs),
      ROUTE,
      request.method,
      performance.now() - started,
      ip,
      userAgentOf(request)
    ]
  })
  const row = result.rows[0]!
  switch (row.outcome) {
    case "unauthorized":
      return send(response, 401, { _tag: "Unauthorized", message: "invalid API key" })
    case "rate_limited":
      return send(response, 429, { _tag: "RateLimited", message: "rate limit exceeded" }, {
        "retry-after": "1",
        "ratelimit": "\"default\";r=0;t=1"
      })
    case "quota_exceeded": {
      const retry = String(secondsToNextMonth(nowMs))
      return send(response, 429, { _tag: "QuotaExceeded", message: "monthly quota exhausted" }, {
        "retry-after": retry,
        "ratelimit": `"default";r=0;t=${retry}`
      })
    }
    case "ok": {
      const limit = row.rate_limit!
      const oldest = row.oldest_second === null ? null : Number(row.oldest_second)
      const reset = oldest === null ? 60 : Math.max(0, Math.ceil(((oldest + 61) * 1000 - nowMs) / 1000))
      return send(response, 200, { key_id: row.key_id, user_id: row.user_id, scopes: row.scopes }, {
        "ratelimit-policy": `"default";q=${limit};w=60`,
        "ratelimit": `"default";r=${Math.max(0, limit - row.used!)};t=${reset}`,
        "x-ratelimit-limit": String(limit),
        "x-ratelimit-remaining-quota": String(Math.max(0, row.monthly_quota! - row.monthly_usage!))
      })
    }
  }
}

const server = createServer((request, response) => {
  const started = performance.now()
  const path = request.url?.split("?")[0]
  if (path === ROUTE && request.method === "GET") {
    me(request, response, started).catch((error: unknown) => {
      process.stderr.write(`baseline: ${error instanceof Error ? error.stack : String(error)}\n`)
      if (!response.headersSent) send(response, 500, { _tag: "InternalServerError", message: "internal error" })
    })
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

server.listen(Number(process.env.PORT ?? "8081"), process.env.HOST ?? "127.0.0.1")
