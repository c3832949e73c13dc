import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { SqlError } from "@effect/sql/SqlError"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import {
  DatabaseUnavailable,
  InternalServerError,
  InvalidRequestBody,
  MethodNotAllowed,
  RouteNotFound
} from "../domain/HttpErrors.js"
import { Api } from "./Api.js"

/** Routes served beside the HttpApi groups, so that a wrong method on them is a 405 too. */
const EXTRA_ROUTES: ReadonlyArray<readonly [string, string]> = [
  ["GET", "/openapi.json"],
  ["GET", "/docs"],
  ["GET", "/docs/scalar.js"]
]
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const

const json = (
  error: RouteNotFound | MethodNotAllowed | InternalServerError | DatabaseUnavailable | InvalidRequestBody,
  status: number
) => HttpServerResponse.unsafeJson(error, { status })

/** At most `max` characters of `text` (never half of a surrogate pair), marked when cut. */
const clip = (text: string, max: number) => {
  if (text.length <= max) return text
  const end = /[\uD800-\uDBFF]/.test(text.charAt(max - 1)) ? max - 1 : max
  return `${text.slice(0, end)}…`
}

/** ArrayFormatter's "Expected <schema>, actual <value>", with each half cut to about 100 characters. */
const clipIssue = (message: string) => {
  const at = message.indexOf(", actual ")
  return at < 0 ? clip(message, 200) : `${clip(message.slice(0, at), 100)}, actual ${clip(message.slice(at + 9), 100)}`
}

interface DecodeIssue {
  readonly _tag: string
  readonly path: ReadonlyArray<unknown>
  readonly message: string
}

/** An error body this large may quote a rejected value in full. */
const LARGE_ERROR_BYTES = 1024

/**
 * HttpApi's 400 for a request its schemas refuse prints the whole schema and the rejected value in
 * full, twice (a 100 MB value made a 200 MB answer). The answer keeps the first issues, each with at
 * most about 100 characters of the value, and a message naming the first. Any other large 4xx gets
 * its message cut, in case it quotes the value it refuses.
 */
const shortenError = (response: HttpServerResponse.HttpServerResponse) => {
  if (response.body._tag !== "Uint8Array") return response
  if (response.status !== 400 && response.body.body.length <= LARGE_ERROR_BYTES) return response
  let parsed: { readonly _tag?: unknown; readonly message?: unknown; readonly issues?: ReadonlyArray<DecodeIssue> }
  try {
    parsed = JSON.parse(new TextDecoder().decode(response.body.body))
  } catch {
    return response
  }
  const options = { status: response.status, headers: response.headers }
  if (parsed._tag !== "HttpApiDecodeError" || !Array.isArray(parsed.issues) || parsed.issues.length === 0) {
    return typeof parsed.message === "string" && parsed.message.length > 200
      ? HttpServerResponse.unsafeJson({ ...parsed, message: clip(parsed.message, 200) }, options)
      : response
  }
  const all: ReadonlyArray<DecodeIssue> = parsed.issues
  const issues = all.slice(0, 10).map((issue) => ({
    _tag: issue._tag,
    path: issue.path.map((key) => typeof key === "number" ? key : clip(String(key), 100)),
    message: clipIssue(String(issue.message))
  }))
  const first = issues[0]!
  const more = all.length - 1
  const message = `${first.path.length === 0 ? "" : `${first.path.join(".")}: `}${first.message}` +
    (more === 0 ? "" : ` (and ${more} more issue${more === 1 ? "" : "s"})`)
  return HttpServerResponse.unsafeJson({ _tag: "HttpApiDecodeError", message, issues }, options)
}

const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENOTFOUND"])

/**
 * A lost or refused database connection (the server restarting, a failover, an exhausted pool), as
 * opposed to a query the database refused: SQLSTATE classes 08 and 57P, socket errors, pg's own.
 */
const isConnectionError = (error: unknown): boolean => {
  if (!(error instanceof SqlError)) return false
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined
  const code = typeof cause?.code === "string" ? cause.code : ""
  const message = typeof cause?.message === "string" ? cause.message : String(error.message)
  return CONNECTION_CODES.has(code) || code.startsWith("08") || code.startsWith("57P") ||
    /connection terminated|timeout exceeded when trying to connect|connection error|not queryable|ECONNREFUSED/i
      .test(message)
}

/** A 4xx body's message, cut to about 200 characters when the body is large: it may quote what it refuses. */
export const shortMessage = (message: string, bodyBytes: number) =>
  bodyBytes > LARGE_ERROR_BYTES && message.length > 200 ? clip(message, 200) : message

/** What a request that died answers, and its log line. */
export interface DefectAnswer {
  readonly status: 500 | 503
  readonly body: InternalServerError | DatabaseUnavailable
  readonly headers: Readonly<Record<string, string>>
}

/**
 * A lost database connection (a defect or a failure) is a 503 `DatabaseUnavailable` with `Retry-After`,
 * logged as a warning; any other defect a 500 with no details, logged as an error. Shared by ErrorShapeLive
 * and the node routes (src/http/NodeServer.ts).
 */
export const answerDefect = (cause: Cause.Cause<unknown>): Effect.Effect<DefectAnswer> =>
  Option.exists(Cause.dieOption(cause), isConnectionError) ||
    Option.exists(Cause.failureOption(cause), isConnectionError)
    ? Effect.as(Effect.logWarning("database unavailable", Cause.squash(cause)), {
      status: 503,
      body: new DatabaseUnavailable({ message: "the database is unavailable; retry shortly" }),
      headers: { "retry-after": "5" }
    })
    : Effect.as(Effect.logError("unhandled error in request", cause), {
      status: 500,
      body: new InternalServerError({ message: "internal server error" }),
      headers: {}
    })

/**
 * Puts every response the HttpApi does not shape itself into the one error shape: unknown routes
 * (404), known paths with the wrong method (405, with `Allow`), a lost database connection (503, with
 * `Retry-After`) and any other defect (500, logged, no details); and cuts HttpApi's schema errors short.
 */
export const ErrorShapeLive = HttpLayerRouter.middleware(
  Effect.sync(() => {
    const known = HttpLayerRouter.FindMyWay.make<true>({ ignoreTrailingSlash: false })
    const add = (method: string, path: string) => known.on(method as "GET", path as "/", true)
    HttpApi.reflect(Api, {
      onGroup: () => {},
      onEndpoint: ({ endpoint }) => add(endpoint.method, endpoint.path)
    })
    for (const [method, path] of EXTRA_ROUTES) add(method, path)
    const allowedMethods = (url: string) => METHODS.filter((method) => known.find(method, url) !== undefined)

    const notFound = (request: HttpServerRequest.HttpServerRequest) => {
      const allowed = allowedMethods(request.url)
      if (allowed.length === 0) {
        const path = request.url.split("?")[0]
        return json(new RouteNotFound({ message: `no route for ${request.method} ${clip(path ?? "", 100)}` }), 404)
      }
      return json(new MethodNotAllowed({ message: `${request.method} is not allowed here`, allowed }), 405).pipe(
        HttpServerResponse.setHeader("allow", allowed.join(", "))
      )
    }
    const internal = (status: number) => json(new InternalServerError({ message: "internal server error" }), status)

    const shape = (exit: Exit.Exit<HttpServerResponse.HttpServerResponse, unknown>) =>
      Effect.gen(function*() {
        if (Exit.isSuccess(exit)) {
          yield* Effect.logError("request failed with an empty 5xx response")
          return internal(exit.value.status)
        }
        const failure = Cause.failureOption(exit.cause)
        if (Option.isSome(failure) && Predicate.isTagged(failure.value, "RouteNotFound")) {
          return notFound(yield* HttpServerRequest.HttpServerRequest)
        }
        if (Cause.isInterruptedOnly(exit.cause)) return yield* exit
        // The body parser HttpApi picks from Content-Type failed (a malformed multipart or form body).
        const unreadable = (e: unknown) =>
          Predicate.isTagged(e, "MultipartError") || Predicate.isTagged(e, "RequestError")
        if (Option.exists(failure, unreadable) || Option.exists(Cause.dieOption(exit.cause), unreadable)) {
          const request = yield* HttpServerRequest.HttpServerRequest
          return json(
            new InvalidRequestBody({
              message: `the body could not be read as ${
                clip(request.headers["content-type"] ?? "its content type", 100)
              }`
            }),
            400
          )
        }
        const answer = yield* answerDefect(exit.cause)
        return json(answer.body, answer.status).pipe(HttpServerResponse.setHeaders(answer.headers))
      })

    // Every request passes here: the common case is one step, not a generator.
    return (app) =>
      Effect.flatMap(
        Effect.exit(app),
        (exit) =>
          Exit.isSuccess(exit) && exit.value.status >= 400 && exit.value.status < 500
            ? Effect.succeed(shortenError(exit.value))
            : Exit.isSuccess(exit) && (exit.value.status < 500 || exit.value.body._tag !== "Empty")
            ? exit
            : shape(exit)
      )
  }),
  { global: true }
)
