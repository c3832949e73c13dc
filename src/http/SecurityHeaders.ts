import { createHash } from "node:crypto"
import type { ServerResponse } from "node:http"

/**
 * Headers of every response, set on the node response before any handler runs, so that the ones the
 * router never shapes (node's own, the metrics server's) carry them too. A handler's own value wins.
 * Every response is uncacheable unless its handler says otherwise (only Scalar's bundle does): several
 * carry a secret shown only once (a new or rotated API key, a webhook secret).
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

/**
 * The policy of the `/docs` page (src/http/Docs.ts): its inline scripts by hash and Scalar's bundle from
 * this origin, `unsafe-eval` and inline styles because that bundle needs them, its fonts from
 * fonts.scalar.com, and "Try it" requests to this origin only. Never framed.
 */
export const docsContentSecurityPolicy = (html: string): string => {
  const hashes = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((match) =>
    `'sha256-${createHash("sha256").update(match[1]!).digest("base64")}'`
  )
  return [
    "default-src 'none'",
    `script-src 'self' ${hashes.join(" ")} 'unsafe-eval'`,
    "style-src 'unsafe-inline'",
    "font-src https://fonts.scalar.com",
    "img-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'"
  ].join("; ")
}
