import type * as Headers from "@effect/platform/Headers"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpTraceContext from "@effect/platform/HttpTraceContext"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"
import type { IncomingMessage, ServerResponse } from "node:http"
import { RepositoryNotFound } from "../../domain/Repository.js"
import { InvalidDelivery, InvalidSignature, MAX_WEBHOOK_BYTES, PayloadTooLarge } from "../../domain/Webhook.js"
import { Metrics, tagger } from "../../services/Metrics.js"
import type { Accepted } from "../../services/Webhooks.js"
import { Webhooks } from "../../services/Webhooks.js"
import { answerDefect, shortMessage } from "../ErrorShape.js"
import { NodeRoutes } from "../NodeServer.js"
import { readNodeBody } from "../RawBody.js"

/** The route's template, as the HttpApi endpoint (./Api.ts) and the request metrics name it. */
const ROUTE = "/webhooks/github/:repository_id"
/** An id with a `%` (or an empty one) is left to the router, which decodes path parameters its own way. */
const PATH = /^\/webhooks\/github\/([^/?#%]+)(?:\?|$)/

const Refusal = Schema.Union(InvalidSignature, InvalidDelivery, PayloadTooLarge, RepositoryNotFound)
type Refusal = typeof Refusal.Type
const STATUS: Record<Refusal["_tag"], number> = {
  InvalidSignature: HttpApiSchema.getStatusError(InvalidSignature),
  InvalidDelivery: HttpApiSchema.getStatusError(InvalidDelivery),
  PayloadTooLarge: HttpApiSchema.getStatusError(PayloadTooLarge),
  RepositoryNotFound: HttpApiSchema.getStatusError(RepositoryNotFound)
}

interface Answer {
  readonly status: number
  readonly body: unknown
  readonly headers?: Record<string, string>
}

const send = (response: ServerResponse, { body, headers, status }: Answer) => {
  if (response.headersSent || response.destroyed) return
  const text = JSON.stringify(body)
  response.writeHead(status, {
    ...headers,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text)
  }).end(text)
}

/**
 * `POST /webhooks/github/:repository_id` answered by node:http itself (a NodeRoute), in front of the
 * HttpApi endpoint that documents it: on the busiest public route, the platform's request handling cost
 * more than the delivery's own work (bench/README.md, webhooks). What the router and the global
 * middlewares give every other route is done here by hand, the same way: the security headers
 * (NodeServer), the body limit (25 MB, ../RawBody.ts), the error shape with the endpoint's statuses, 503
 * for a lost database and a logged 500 for any other defect, the request metrics (timed from the
 * request's arrival), and an `http.server POST` span per request, child of the caller's `traceparent`
 * as the platform's is, from the end of the body on.
 */
export const WebhooksNodeRouteLive = Layer.effect(
  NodeRoutes,
  Effect.gen(function*() {
    const webhooks = yield* Webhooks
    const runtime = yield* Effect.runtime<never>()
    // `Webhooks.receive` needs no service from the context: an empty one (loggers, tracer and clock are
    // fiber refs, kept) makes the request span's copy of it cheap.
    const run = Runtime.runFork(Runtime.make({
      context: Context.empty(),
      fiberRefs: runtime.fiberRefs,
      runtimeFlags: runtime.runtimeFlags
    }))
    const requests = tagger(Metrics.httpRequests, "route", "method", "status")
    const durations = tagger(Metrics.httpDuration, "route")
    const encode = Schema.encodeSync(Refusal)

    const answer = (exit: Exit.Exit<Accepted, Refusal>): Effect.Effect<Answer> => {
      if (Exit.isSuccess(exit)) return Effect.succeed({ status: exit.value.httpStatus, body: exit.value.body })
      const failure = Cause.failureOption(exit.cause)
      if (Option.isSome(failure)) {
        const body = encode(failure.value)
        // As ErrorShape cuts any other large 4xx: the message may quote the path's id.
        const message = shortMessage(body.message, JSON.stringify(body).length)
        return Effect.succeed({ status: STATUS[failure.value._tag], body: { ...body, message } })
      }
      return answerDefect(exit.cause)
    }

    const serve = (
      request: IncomingMessage,
      response: ServerResponse,
      repositoryId: string,
      path: string,
      started: number,
      read: Effect.Effect<Buffer, Refusal>
    ) =>
      Effect.useSpan("http.server POST", {
        parent: Option.getOrUndefined(HttpTraceContext.fromHeaders(request.headers as unknown as Headers.Headers)),
        kind: "server",
        captureStackTrace: false,
        attributes: {
          "http.request.method": "POST",
          "http.route": ROUTE,
          "url.path": path,
          ...(request.headers["user-agent"] === undefined
            ? {}
            : { "user_agent.original": request.headers["user-agent"] })
        }
      }, (span) =>
        read.pipe(
          Effect.flatMap((body) =>
            webhooks.receive({
              repositoryId,
              headers: request.headers as Record<string, string | undefined>,
              body
            })
          ),
          Effect.exit,
          Effect.flatMap(answer),
          Effect.map((answered) => {
            send(response, answered)
            span.attribute("http.response.status_code", answered.status)
            requests(ROUTE, "POST", String(answered.status)).unsafeUpdate(1, [])
            durations(ROUTE).unsafeUpdate((performance.now() - started) / 1000, [])
          }),
          (effect) => Effect.withParentSpan(effect, span)
        ))

    return [(request, response) => {
      if (request.method !== "POST") return false
      const url = request.url ?? ""
      const match = PATH.exec(url)
      if (match === null) return false
      const started = performance.now()
      // The body is in before the request's fiber starts: one suspension less per delivery.
      readNodeBody(request, MAX_WEBHOOK_BYTES, (error, body) => {
        const read: Effect.Effect<Buffer, Refusal> = error === undefined
          ? Effect.succeed(body!)
          : Effect.fail(
            error._tag === "InvalidRequestBody" ? new InvalidDelivery({ message: error.message }) : error
          )
        run(serve(request, response, match[1]!, url.split("?")[0]!, started, read))
      })
      return true
    }]
  })
)
