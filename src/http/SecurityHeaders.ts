import { HttpLayerRouter, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import type { ServerResponse } from "node:http"

/**
 * Headers of every response, set on the node response before any handler runs, so that the ones the
 * router never shapes (node's own, the metrics server's) carry them too. A handler's own value wins.
 * Every response is uncacheable: several carry a secret shown only once (a new or rotated API key, a
 * webhook secret), and none is worth a shared cache's copy.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "cache-control": "no-store",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "x-frame-options": "DENY"
}

export const setSecurityHeaders = (response: ServerResponse): void => {
  for (const name in SECURITY_HEADERS) response.setHeader(name, SECURITY_HEADERS[name]!)
}

/** The headers as raw HTTP/1.1 lines, for responses written straight to a socket. */
export const SECURITY_HEADER_LINES = Object.entries(SECURITY_HEADERS).map(([name, value]) => `${name}: ${value}\r\n`)
  .join("")

const policies = new WeakMap<Uint8Array, string>()

/**
 * The policy of Scalar's page: its inline scripts by hash (the page is the same on every request, so
 * it is hashed once), `unsafe-eval` and inline styles because Scalar's bundle needs them, its fonts
 * from fonts.scalar.com, and "Try it" requests to this origin only. Never framed.
 */
const docsPolicy = (body: Uint8Array): string => {
  const known = policies.get(body)
  if (known !== undefined) return known
  const html = new TextDecoder().decode(body)
  const hashes = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((match) =>
    `'sha256-${createHash("sha256").update(match[1]!).digest("base64")}'`
  )
  const policy = [
    "default-src 'none'",
    `script-src ${hashes.join(" ")} 'unsafe-eval'`,
    "style-src 'unsafe-inline'",
    "font-src https://fonts.scalar.com",
    "img-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'"
  ].join("; ")
  policies.set(body, policy)
  return policy
}

/** The content security policy of `/docs`, provided to that route only. */
export const DocsSecurityHeaders = HttpLayerRouter.middleware((app) =>
  Effect.map(app, (response) =>
    response.body._tag === "Uint8Array"
      ? HttpServerResponse.setHeader(response, "content-security-policy", docsPolicy(response.body.body))
      : response)
)
