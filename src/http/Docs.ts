import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { readFileSync } from "node:fs"
import { readFile } from "node:fs/promises"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { Api } from "./Api.js"
import { docsContentSecurityPolicy } from "./SecurityHeaders.js"

const escapeText = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
const escapeAttribute = (text: string) => escapeText(text).replace(/"/g, "&quot;").replace(/'/g, "&#39;")
/** JSON that cannot close its `<script>` element or end a JS string early. */
const scriptJson = (value: unknown) =>
  JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029")

const platformDir = dirname(createRequire(import.meta.url).resolve("@effect/platform/package.json"))

/**
 * Scalar's browser bundle as @effect/platform ships it: the string literal `javascript` of an internal
 * module outside the package's exports map. Read as a file and parsed, rather than imported, so that
 * neither the module's source nor the string stays in the V8 heap for the life of the process: only
 * these bytes do, once someone has opened the page.
 */
const readScalarBundle = Effect.tryPromise(async () => {
  const source = await readFile(join(platformDir, "dist/esm/internal/httpApiScalar.js"), "utf8")
  const literal = /export const javascript=(".*");\s*(?:\/\/# sourceMappingURL=\S*\s*)?$/s.exec(source)?.[1]
  if (literal === undefined) throw new Error("@effect/platform's Scalar bundle is not where it was")
  return new TextEncoder().encode(JSON.parse(literal) as string)
}).pipe(Effect.orDie)

/**
 * `/docs`: HttpApiScalar's page with its bundle as a script of its own (`/docs/scalar.js`), which the
 * browser fetches and caches once per @effect/platform version instead of receiving it inlined in every
 * page. The bundle is read from disk on its first request only.
 */
export const DocsHttpLive = Layer.effectDiscard(Effect.gen(function*() {
  const router = yield* HttpLayerRouter.HttpRouter
  const { version } = JSON.parse(readFileSync(join(platformDir, "package.json"), "utf8")) as { version: string }
  const spec = OpenApi.fromApi(Api)
  const script = `/docs/scalar.js?v=${version}`
  const { description, title } = spec.info
  const meta = description === undefined || description === "" ? [] : [
    `<meta name="description" content="${escapeAttribute(description)}"/>`,
    `<meta name="og:description" content="${escapeAttribute(description)}"/>`
  ]
  const configuration = scriptJson({ _integration: "html" })
  const page = [
    "<!doctype html>",
    "<html>",
    "<head>",
    "<meta charset=\"utf-8\" />",
    `<title>${escapeText(title)}</title>`,
    ...meta,
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\" />",
    "</head>",
    "<body>",
    `<script id="api-reference" type="application/json">${scriptJson(spec)}</script>`,
    `<script>document.getElementById('api-reference').dataset.configuration = JSON.stringify(${configuration})</script>`,
    `<script src="${escapeAttribute(script)}"></script>`,
    "</body>",
    "</html>"
  ].join("\n")
  const pageResponse = HttpServerResponse.text(page, {
    contentType: "text/html; charset=utf-8",
    headers: { "content-security-policy": docsContentSecurityPolicy(page) }
  })
  yield* router.add("GET", "/docs", Effect.succeed(pageResponse))

  const bundle = yield* Effect.cached(readScalarBundle)
  yield* router.add(
    "GET",
    "/docs/scalar.js",
    Effect.map(bundle, (bytes) =>
      HttpServerResponse.uint8Array(bytes, {
        contentType: "text/javascript; charset=utf-8",
        // The page asks for it by @effect/platform's version, so a cached copy is never stale.
        headers: { "cache-control": "public, max-age=31536000, immutable" }
      }))
  )
}))
